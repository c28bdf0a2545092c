/**
 * The maintenance pass's check lists every chunk key each hour; that listing is the store's
 * word for every chunk at once (`vouchListed`, api/ingest/staging.ts). A daily run after it
 * asks the store nothing per chunk, though a day has passed since the chunks were verified;
 * a chunk the listing did not show (lost from the bucket) is doubted, so the next begin that
 * names it asks the store, finds it gone and hands it out for upload again.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHUNK_TRUST_MS, VOUCH_REFRESH_MS } from '../../api/ingest/staging.js';
import { runMaintenance, SCRUB_EVERY_MS, vouchForStoredChunks } from '../../api/maintenance.js';
import { chunkKey, type BlobStore } from '../../api/store/types.js';
import { artifacts, blobs } from '../../db/schema.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, prepareCapture, sha256Hex, uploadMissing } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
/** An artifact of one chunk, where a chunk's size is not what a test is about (a 1 MiB one only takes longer to send and scrub). */
const SMALL = 64 * 1024;

/** Counts calls of the store's questions about objects from here on. */
function countQuestions(store: BlobStore): { head: number; list: number } {
  const counts = { head: 0, list: 0 };
  const target = store as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ['head', 'list'] as const) {
    const fn = target[name];
    target[name] = (...args: unknown[]) => {
      // The staging cleanup's listing of the capture's own area is not a question about chunks.
      if (!(name === 'list' && String(args[0]).startsWith('staging/'))) counts[name]++;
      return fn.apply(store, args);
    };
  }
  return counts;
}

describeEachFlavour('a store listing vouches for the chunks it shows', (flavour) => {
  let catalog: TestCatalog;
  // The catalog's clock: a day and more later than the chunks were published.
  let skew = 0;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => new Date(Date.now() + skew) });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('after the check, a run past the trust window asks the store nothing; a chunk the listing missed is asked for again', async () => {
    const kept = randomBytes(2 * MiB + 300);
    const lostBytes = randomBytes(MiB + 200);
    const artifacts = [
      { kind: 'vmfs-undelete' as const, fileName: 'kept.tgz', bytes: kept },
      { kind: 'vmfs-undelete' as const, fileName: 'lost.tgz', bytes: lostBytes },
    ];
    const first = await ingest(catalog, { host: 'esx-vouch', artifacts });
    expect(first.state).toBe('committed');
    const lost = sha256Hex(lostBytes.subarray(0, MiB));
    const { db, store } = catalog.services;
    await store.delete(chunkKey(lost));

    // Two windows later (past every chunk's spread window), the nightly check runs.
    skew = 2 * CHUNK_TRUST_MS + 60_000;
    const res = await catalog.request('/v1/admin/check', { method: 'POST' });
    expect(res.status).toBe(200);
    const checkedAt = Date.now() + skew;
    const [row] = await db
      .select()
      .from(blobs)
      .where(eq(blobs.sha256, sha256Hex(kept.subarray(0, MiB))));
    expect(Math.abs(row.lastVerified.getTime() - checkedAt)).toBeLessThan(60_000);

    // A run an hour later: the kept chunks are taken on the listing's word, the lost one is asked about.
    skew += 3600_000;
    const counts = countQuestions(store);
    const again = prepareCapture({ host: 'esx-vouch', artifacts });
    const answer = await begin(catalog, again.request);
    expect(answer.missing.map((m) => m.sha256)).toEqual([lost]);
    expect(counts).toEqual({ head: 1, list: 0 });
    await uploadMissing(catalog, again, answer);
    const done = await commit(catalog, again.request.captureId);
    expect(done.state).toBe('committed');
    // Publishing the lost chunk again is its one look on a store without write-once creates (Swift).
    const publishLooks = store.conditionalWrites?.() === false ? 1 : 0;
    expect(counts).toEqual({ head: 1 + publishLooks, list: 0 });
    for (const [i, a] of done.artifacts.entries()) {
      const got = await catalog.request(`/v1/artifacts/${a.id}/content`);
      expect(sha256Hex(new Uint8Array(await got.arrayBuffer()))).toBe(sha256Hex(artifacts[i].bytes));
    }
  });

  it('a listing renews a record only when it is older than VOUCH_REFRESH_MS', async () => {
    const bytes = randomBytes(SMALL + 10);
    await ingest(catalog, { host: 'esx-vouch2', artifacts: [{ kind: 'vmfs-undelete', fileName: 'v.tgz', bytes }] });
    const sha = sha256Hex(bytes.subarray(0, MiB));
    const { db } = catalog.services;
    const [before] = await db.select().from(blobs).where(eq(blobs.sha256, sha));
    skew += VOUCH_REFRESH_MS / 2;
    expect((await catalog.request('/v1/admin/check', { method: 'POST' })).status).toBe(200);
    const [fresh] = await db.select().from(blobs).where(eq(blobs.sha256, sha));
    expect(fresh.lastVerified.getTime()).toBe(before.lastVerified.getTime());
    skew += VOUCH_REFRESH_MS;
    expect((await catalog.request('/v1/admin/check', { method: 'POST' })).status).toBe(200);
    const [renewed] = await db.select().from(blobs).where(eq(blobs.sha256, sha));
    expect(renewed.lastVerified.getTime()).toBeGreaterThan(before.lastVerified.getTime() + VOUCH_REFRESH_MS);
  });

  it('the hourly maintenance pass lists the chunks every time and scrubs once a day', async () => {
    const bytes = randomBytes(SMALL + 20);
    await ingest(catalog, { host: 'esx-vouch3', artifacts: [{ kind: 'vmfs-undelete', fileName: 'w.tgz', bytes }] });
    const services = { ...catalog.services, config: { ...catalog.services.config, SCRUB_PERCENT: 5 } };
    skew += SCRUB_EVERY_MS;
    const first = await runMaintenance(services);
    expect(first.scrub?.read).toBeGreaterThan(0);
    // An hour later: no scrub, but the listing still runs and doubts the chunk lost meanwhile.
    const lost = sha256Hex(bytes.subarray(0, MiB));
    await catalog.services.store.delete(chunkKey(lost));
    skew += 3600_000;
    const second = await runMaintenance(services);
    expect(second.scrub).toBeNull();
    expect(second.listing?.doubted).toBe(1);
    const [row] = await catalog.services.db.select().from(blobs).where(eq(blobs.sha256, lost));
    expect(row.lastVerified.getTime()).toBe(0);
    // A day after the first scrub, the next one.
    skew += SCRUB_EVERY_MS;
    expect((await runMaintenance(services)).scrub).not.toBeNull();
  });

  it('the hourly listing walks rows and keys side by side, a page at a time, and judges each row as a whole listing would', async () => {
    const { db, store } = catalog.services;
    const at = new Date(Date.now() + skew);
    const old = new Date(at.getTime() - CHUNK_TRUST_MS / 2);
    // 40 records: every third has no object, every fifth an object of another size; 6 objects have no record.
    const shas = Array.from({ length: 46 }, (_, i) => sha256Hex(new TextEncoder().encode(`vouch-walk-${i}-${randomBytes(4).toString('hex')}`)));
    const recorded = shas.slice(0, 40);
    const fate = (i: number) => (i % 3 === 0 ? 'gone' : i % 5 === 0 ? 'resized' : 'there');
    await db
      .insert(blobs)
      .values(recorded.map((sha) => ({ sha256: sha, size: 10, encoding: 'identity', storedSize: 10, firstStored: old, lastVerified: old })));
    await Promise.all(
      shas.map((sha, i) => (i < 40 && fate(i) === 'gone' ? null : store.putIfAbsent(chunkKey(sha), new Uint8Array(i < 40 && fate(i) === 'resized' ? 11 : 10)))),
    );
    const expected = { vouched: 0, doubted: 0 };
    for (const [i] of recorded.entries()) expected[fate(i) === 'there' ? 'vouched' : 'doubted']++;
    // Every other record in the catalog (the earlier tests') is listed at its size: vouched only when old enough.
    const result = await vouchForStoredChunks({ db, store, now: () => at }, { pageRows: 7 });
    expect(result.doubted).toBe(expected.doubted);
    expect(result.vouched).toBeGreaterThanOrEqual(expected.vouched);
    const rows = new Map((await db.select().from(blobs)).map((r) => [r.sha256, r]));
    for (const [i, sha] of recorded.entries()) expect([sha, rows.get(sha)?.lastVerified.getTime()]).toEqual([sha, fate(i) === 'there' ? at.getTime() : 0]);
    // An object without a record gets none.
    for (const sha of shas.slice(40)) expect(rows.has(sha)).toBe(false);
  });

  it('with the store down, the pass still runs the event checks and says which steps failed', async () => {
    const { store } = catalog.services;
    const list = store.list;
    store.list = () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9');
    };
    try {
      const done = await runMaintenance({ ...catalog.services, config: { ...catalog.services.config, SCRUB_PERCENT: 0 } });
      expect(done.events).not.toBeNull();
      expect(done.sweptStaging).toBeNull();
      expect(done.listing).toBeNull();
      expect(done.failed.map((f) => f.step)).toEqual(['staging sweep', 'chunk listing']);
      expect(done.failed[0].error).toContain('ECONNREFUSED');
    } finally {
      store.list = list;
    }
  });

  it('a listing that still shows a deleted chunk does not keep it trusted: the scrub finds it gone and reports it', async () => {
    const bytes = randomBytes(SMALL + 30);
    const done = await ingest(catalog, { host: 'esx-phantom', artifacts: [{ kind: 'vmfs-undelete', fileName: 'p.tgz', bytes }] });
    const sha = sha256Hex(bytes.subarray(0, MiB));
    const { db, store } = catalog.services;
    const [row] = await db.select().from(blobs).where(eq(blobs.sha256, sha));
    await store.delete(chunkKey(sha));
    // An eventually consistent listing: the deleted object is still in it, at its size.
    const list = store.list;
    store.list = async function* (prefix: string) {
      const all = [];
      for await (const o of list.call(store, prefix)) all.push(o);
      if (chunkKey(sha).startsWith(prefix)) all.push({ key: chunkKey(sha), size: row.storedSize });
      yield* all.sort((a, b) => (a.key < b.key ? -1 : 1));
    };
    try {
      const res = await catalog.request('/v1/admin/check?read_data_subset=100', { method: 'POST' });
      expect(res.status).toBe(200);
      const report = (await res.json()) as { clean: boolean; missingChunks: Array<{ sha256: string; artifacts: string[] }> };
      expect(report.clean).toBe(false);
      expect(report.missingChunks).toContainEqual({ sha256: sha, artifacts: [done.artifacts[0].id] });
    } finally {
      store.list = list;
    }
    const [after] = await db.select().from(blobs).where(eq(blobs.sha256, sha));
    expect(after.lastVerified.getTime()).toBe(0);
  });

  it('a chunk list lost from the bucket is doubted by the hourly listing and stored again by the next commit naming it', async () => {
    const bytes = new TextEncoder().encode('tank/l@lost\t1793491200\t1\n'.repeat(30));
    const input = { host: 'stor-lost-list', hostKind: 'solaris' as const, artifacts: [{ kind: 'zfs-snapshots' as const, fileName: 'z.txt', bytes }] };
    const first = await ingest(catalog, input);
    const { db, store } = catalog.services;
    const [row] = await db.select({ list: artifacts.chunkList }).from(artifacts).where(eq(artifacts.id, first.artifacts[0].id));
    const list = row.list!;
    await store.delete(chunkKey(list));
    skew += 3600_000;
    expect((await vouchForStoredChunks({ db, store, now: () => new Date(Date.now() + skew) })).doubted).toBeGreaterThanOrEqual(1);
    const done = await ingest(catalog, input);
    expect(done.state).toBe('committed');
    expect(await store.head(chunkKey(list))).not.toBeNull();
    const [record] = await db.select().from(blobs).where(eq(blobs.sha256, list));
    expect(Math.abs(record.lastVerified.getTime() - (Date.now() + skew))).toBeLessThan(60_000);
  });
});
