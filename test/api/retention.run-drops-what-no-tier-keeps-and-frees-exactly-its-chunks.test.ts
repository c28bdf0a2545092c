/**
 * A retention run over 36 daily captures of one storage host, on both flavours: the dry
 * run explains every capture and changes nothing; the real run deletes exactly the dropped
 * captures, frees exactly their chunks and chunk lists (a chunk or list kept captures share
 * stays), keeps the pinned
 * capture and the newest good capture of a volume, records the run; `check` is clean after,
 * and `rebuild` on an emptied catalog brings back exactly the kept set.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { rowsOf } from '../../api/retention/gather.js';
import { chunkKey } from '../../api/store/types.js';

/**
 * 2025-01-01 to 2025-02-05: January's newest capture and five weeks of captures, and more than
 * 20 that no tier keeps (each dropped capture is a manifest, its rows and two chunks to delete).
 */
const DAYS = 36;
const UNIQUE = 3000;
/** Captures ingested at once. */
const BATCH = 10;

describeEachFlavour('retention run', (flavour) => {
  let catalog: TestCatalog;
  let clock = new Date('2025-01-01T12:01:00Z');
  // Each capture is received a minute after it was collected, whichever others are in flight.
  const receipt = new AsyncLocalStorage<Date>();
  const ids: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => receipt.getStore() ?? clock });
    const shared = randomBytes(2000);
    const day = (d: number) => {
      const at = new Date(Date.UTC(2025, 0, 1 + d, 12, 0, 0));
      const artifacts = [
        { kind: 'unknown' as const, fileName: 'daily.bin', sourcePath: '/var/dumps/daily.bin', bytes: randomBytes(UNIQUE) },
        { kind: 'unknown' as const, fileName: 'same.bin', sourcePath: '/var/dumps/same.bin', bytes: shared },
      ];
      // Only the first capture holds a header dump of the extent: it stays the newest good one.
      const extra =
        d === 0
          ? [{ kind: 'vmfs-header' as const, fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' }) }]
          : [];
      return receipt.run(new Date(at.getTime() + 60_000), async () => {
        const done = await ingest(catalog, { host: 'stor1', hostKind: 'solaris', collectedAt: at, artifacts: [...artifacts, ...extra] });
        ids[d] = done.captureId;
      });
    };
    // The first day alone (it brings the host, the extent and the shared chunk in), then the
    // others a batch at a time: retention reads each capture's times, not the order of commits.
    await day(0);
    for (let d = 1; d < DAYS; d += BATCH) await Promise.all(Array.from({ length: Math.min(BATCH, DAYS - d) }, (_, i) => day(d + i)));
    clock = new Date(Date.UTC(2025, 0, DAYS, 18, 0, 0));
  }, 240_000);
  afterAll(async () => {
    await catalog?.close();
  });

  it('explains every capture, drops none on a dry run, then deletes exactly the dropped ones and frees their bytes', async () => {
    const pin = await catalog.request(`/v1/captures/${ids[3]}/pin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'before the array swap' }),
    });
    expect(pin.status).toBe(200);

    const dry = await (await catalog.request('/v1/retention/run?dry_run=true', { method: 'POST' })).json();
    expect(dry.dryRun).toBe(true);
    expect(dry.plan.captures).toHaveLength(DAYS);
    for (const c of dry.plan.captures) expect(c.reasons.length).toBeGreaterThan(0);
    const byId = new Map<string, { decision: string; reasons: string[] }>(dry.plan.captures.map((c: { captureId: string }) => [c.captureId, c]));
    expect(byId.get(ids[3])!.reasons).toContain('pinned: before the array swap');
    expect(byId.get(ids[0])!.reasons).toContain(`newest good capture of extent ${DEFAULTS.extentUuid}`);
    // 2025-01-31 is January's newest capture; 2025-01-02 nothing keeps (default policy).
    expect(byId.get(ids[30])!.reasons).toContain('monthly 2025-01');
    expect(byId.get(ids[1])!.decision).toBe('drop');
    const { db } = catalog.services;
    expect(rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from captures`))[0].n).toBe(DAYS);

    // Each artifact's chunk list is a chunk too: daily.bin's is its capture's own, same.bin's
    // every capture's (the same bytes give the same list).
    const lists = rowsOf<{ capture_id: string; file_name: string; chunk_list: string; stored_size: number }>(
      await db.execute(sql`select a.capture_id, a.file_name, a.chunk_list, b.stored_size from artifacts a join blobs b on b.sha256 = a.chunk_list`),
    );
    expect(lists).toHaveLength(2 * DAYS + 1);
    const sharedList = lists.find((l) => l.file_name === 'same.bin')!.chunk_list;
    expect(new Set(lists.filter((l) => l.file_name === 'same.bin').map((l) => l.chunk_list))).toEqual(new Set([sharedList]));

    const real = await (await catalog.request('/v1/retention/run?dry_run=false', { method: 'POST' })).json();
    const dropped = dry.plan.captures
      .filter((c: { decision: string }) => c.decision === 'drop')
      .map((c: { captureId: string }) => c.captureId)
      .sort();
    expect(dropped.length).toBeGreaterThan(20);
    expect([...real.dropped].sort()).toEqual(dropped);
    // Each dropped capture held one chunk of its own and its chunk list; the chunk and the list
    // every capture shares stay, and so does every list a kept artifact names.
    const droppedLists = lists.filter((l) => l.file_name === 'daily.bin' && dropped.includes(l.capture_id));
    const listBytes = droppedLists.reduce((n, l) => n + Number(l.stored_size), 0);
    expect(real.chunksDeleted).toBe(2 * dropped.length);
    expect(real.bytesFreed).toBe(dropped.length * UNIQUE + listBytes);
    const { store } = catalog.services;
    for (const l of droppedLists) expect(await store.head(chunkKey(l.chunk_list))).toBeNull();
    const keptLists = rowsOf<{ chunk_list: string }>(await db.execute(sql`select chunk_list from artifacts`)).map((r) => r.chunk_list);
    expect(keptLists).toContain(sharedList);
    for (const l of new Set(keptLists)) expect(await store.head(chunkKey(l))).not.toBeNull();
    expect(rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from blobs where sha256 in (select chunk_list from artifacts)`))[0].n).toBe(
      new Set(keptLists).size,
    );
    const runs = rowsOf<{ ran_by: string; bytes_freed: number; dry_run: boolean }>(
      await db.execute(sql`select ran_by, bytes_freed, dry_run from retention_runs order by id`),
    );
    expect(runs.map((r) => [r.dry_run, Number(r.bytes_freed)])).toEqual([
      [true, 0],
      [false, dropped.length * UNIQUE + listBytes],
    ]);

    const check = await (await catalog.request('/v1/admin/check?read_data_subset=100', { method: 'POST' })).json();
    expect(check.clean).toBe(true);
    expect(check.captures).toBe(DAYS - dropped.length);

    // rebuild from the manifests alone gives back exactly the kept captures.
    const kept = dry.plan.captures
      .filter((c: { decision: string }) => c.decision === 'keep')
      .map((c: { captureId: string }) => c.captureId)
      .sort();
    for (const t of ['events', 'extents', 'segments', 'targets', 'zfs_snapshots', 'artifacts', 'capture_pins', 'captures', 'host_chunks', 'blobs']) {
      await db.execute(sql.raw(`delete from ${t}`));
    }
    const rebuilt = await (await catalog.request('/v1/admin/rebuild', { method: 'POST' })).json();
    expect(rebuilt.errors).toEqual([]);
    const after = rowsOf<{ id: string }>(await db.execute(sql`select id from captures where state = 'committed' order by id`)).map((r) => r.id);
    expect(after).toEqual(kept);
  }, 240_000);
});
