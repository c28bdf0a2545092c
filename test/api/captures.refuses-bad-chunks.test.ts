/**
 * Commit checks every chunk against its name: a missing, wrong or over-inflating
 * chunk refuses the commit (nothing indexed, the capture stays open, a bad staged
 * upload is deleted so a retry can upload it again). Upload URLs that expired, were
 * tampered with or are used for another chunk are refused by the store itself.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { artifacts, captures, extents } from '../../db/schema.js';
import { chunkKey, stagingKey, type BlobStore } from '../../api/store/types.js';
import { FsBlobStore } from '../../api/store/fs.js';
import { S3BlobStore } from '../../api/store/s3.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { s3TestConfig } from '../helpers/swift.js';
import { begin, commit, md5Base64, prepareCapture, putChunk, sha256Hex, uploadMissing } from '../helpers/ingest-client.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

const MiB = 1024 * 1024;

describeEachFlavour('captures: bad chunks and refused uploads', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  /** A store of the same kind and bucket whose clock is two hours behind: its URLs are already expired. */
  function pastStore(): BlobStore {
    const past = () => new Date(Date.now() - 2 * 3600_000);
    const { config } = catalog.services;
    if (catalog.services.store.kind === 'fs') return new FsBlobStore({ dataDir: config.DATA_DIR, publicBaseUrl: 'http://127.0.0.1:8787', now: past });
    return new S3BlobStore({ ...s3TestConfig()!.storeOptions(config.S3_BUCKET!), now: past });
  }

  async function expectNothingIndexed(captureId: string) {
    const { db } = catalog.services;
    const [cap] = await db.select().from(captures).where(eq(captures.id, captureId));
    expect(cap.state).toBe('open');
    expect(await db.select().from(artifacts).where(eq(artifacts.captureId, captureId))).toEqual([]);
    expect(await db.select().from(extents).where(eq(extents.captureId, captureId))).toEqual([]);
  }

  it('refuses a commit whose chunk bytes are wrong, deletes the bad object, and accepts the retry', async () => {
    const bytes = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 21 });
    const prepared = prepareCapture({ host: 'esx-bad', artifacts: [{ kind: 'vmfs-header', fileName: 'x.hex', bytes }] });
    const answer = await begin(catalog, prepared.request);
    const [victim, ...rest] = answer.missing;
    for (const t of rest) expect((await putChunk(catalog, t, prepared.stored.get(t.sha256)!)).ok).toBe(true);
    // Bytes that do not hash to the chunk's name, staged behind the upload URL's back.
    const wrong = new Uint8Array(prepared.stored.get(victim.sha256)!);
    wrong[100] ^= 0xff;
    const staged = stagingKey(prepared.request.captureId, victim.sha256);
    await catalog.services.store.put(staged, wrong);

    const err = await commit(catalog, prepared.request.captureId).catch((e) => e);
    expect(err).toMatchObject({ status: 422, code: 'unprocessable' });
    expect(err.body.error.message).toContain(victim.sha256);
    await expectNothingIndexed(prepared.request.captureId);
    expect(await catalog.services.store.head(staged)).toBeNull();
    expect(await catalog.services.store.head(chunkKey(victim.sha256))).toBeNull();

    const retry = await begin(catalog, prepared.request);
    expect(retry.missing.map((m) => m.sha256)).toEqual([victim.sha256]);
    await uploadMissing(catalog, prepared, retry);
    const done = await commit(catalog, prepared.request.captureId);
    expect(done.artifacts[0].parseStatus).toBe('ok');
  });

  it('refuses a commit whose chunks are all right but whose announced whole SHA-256 is not theirs, naming the first such artifact', async () => {
    // Six dumps: the catalog hashes each whole while it reads and parses the next ones, and
    // still refuses the capture for the third and fifth (announced with another dump's hash).
    const dumps = Array.from({ length: 6 }, (_, i) => buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 40 + i }));
    const prepared = prepareCapture({
      host: 'esx-whole',
      artifacts: dumps.map((bytes, i) => ({ kind: 'vmfs-header' as const, fileName: `d${i}.hex`, bytes, gzip: i % 2 === 0 })),
    });
    const arts = prepared.request.artifacts;
    const honest = arts.map((a) => a.sha256);
    arts[2].sha256 = honest[3];
    arts[4].sha256 = honest[0];
    await uploadMissing(catalog, prepared, await begin(catalog, prepared.request));
    const err = await commit(catalog, prepared.request.captureId).catch((e) => e);
    expect(err).toMatchObject({ status: 422, code: 'unprocessable' });
    expect(err.body.error.message).toContain(`artifact 2 (d2.hex): its chunks hash to ${honest[2]}, not the announced ${honest[3]}`);
    await expectNothingIndexed(prepared.request.captureId);

    // The same bytes announced with their own hashes commit (a new capture: a begin's declaration is fixed).
    const fixed = prepareCapture({
      host: 'esx-whole',
      artifacts: dumps.map((bytes, i) => ({ kind: 'vmfs-header' as const, fileName: `d${i}.hex`, bytes, gzip: i % 2 === 0 })),
    });
    await uploadMissing(catalog, fixed, await begin(catalog, fixed.request));
    const done = await commit(catalog, fixed.request.captureId);
    expect(done.artifacts.map((a) => a.parseStatus)).toEqual(dumps.map(() => 'ok'));
  });

  it('refuses a commit while a chunk was never uploaded', async () => {
    const prepared = prepareCapture({
      host: 'esx-bad',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/never@a\t1\t2\n') }],
    });
    const answer = await begin(catalog, prepared.request);
    expect(answer.missing).toHaveLength(1);
    const err = await commit(catalog, prepared.request.captureId).catch((e) => e);
    expect(err).toMatchObject({ status: 422 });
    expect(err.body.error.message).toMatch(/never uploaded/);
    await expectNothingIndexed(prepared.request.captureId);
  });

  it('refuses a gzip chunk that inflates past 1 MiB with 413', async () => {
    // Announced as a 1 MiB chunk of 0x5a bytes, stored as gzip of 2 MiB of them: a bomb the bound stops.
    const chunk = new Uint8Array(MiB).fill(0x5a);
    const bomb = new Uint8Array(gzipSync(new Uint8Array(2 * MiB).fill(0x5a)));
    const sha = sha256Hex(chunk);
    const prepared = prepareCapture({ host: 'esx-bad', artifacts: [] });
    prepared.request.artifacts = [
      {
        kind: 'vmfs-header',
        fileName: 'bomb.hex',
        sourcePath: '/bomb',
        size: MiB,
        sha256: sha,
        chunks: [{ sha256: sha, size: MiB, encoding: 'gzip', storedSize: bomb.length, storedSha256: sha256Hex(bomb), storedMd5: md5Base64(bomb) }],
      },
    ];
    prepared.stored.set(sha, bomb);
    const answer = await begin(catalog, prepared.request);
    expect(answer.missing).toHaveLength(1);
    await uploadMissing(catalog, prepared, answer);
    const err = await commit(catalog, prepared.request.captureId).catch((e) => e);
    expect(err).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(err.body.error.message).toMatch(/inflates past 1048576/);
    await expectNothingIndexed(prepared.request.captureId);
  });

  it('the store refuses an expired, a tampered and an other-chunk upload URL; the commit then refuses the capture', async () => {
    const a = new TextEncoder().encode('tank/a@one\t1793491200\t1\n');
    const b = new TextEncoder().encode('tank/b@two\t1793491200\t2\n');
    const prepared = prepareCapture({
      host: 'esx-urls',
      artifacts: [
        { kind: 'zfs-snapshots', fileName: 'a.txt', bytes: a },
        { kind: 'zfs-snapshots', fileName: 'b.txt', bytes: b },
      ],
    });
    const answer = await begin(catalog, prepared.request);
    expect(answer.missing).toHaveLength(2);
    const [ta, tb] = answer.missing;
    const ca = prepared.stored.get(ta.sha256)!;
    const cb = prepared.stored.get(tb.sha256)!;

    const expired = await pastStore().presignPut(stagingKey(prepared.request.captureId, ta.sha256), {
      contentLength: ca.length,
      payloadSha256: ta.sha256,
      contentMd5: md5Base64(ca),
      expiresInSeconds: 60,
    });
    const r1 = await putChunk(catalog, expired, ca);
    expect(r1.status).toBe(403);

    const u = new URL(ta.url);
    const sigName = u.searchParams.has('sig') ? 'sig' : 'X-Amz-Signature';
    const sig = u.searchParams.get(sigName)!;
    u.searchParams.set(sigName, sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0'));
    const r2 = await putChunk(catalog, { url: u.toString(), headers: ta.headers }, ca);
    expect(r2.status).toBe(403);

    // b's URL with a's bytes (same length here, so only the hash binding can refuse it).
    expect(ca.length).toBe(cb.length);
    const r3 = await putChunk(catalog, tb, ca);
    expect(r3.status).toBeGreaterThanOrEqual(400);
    expect(r3.status).toBeLessThan(500);

    for (const t of [ta, tb]) {
      expect(await catalog.services.store.head(stagingKey(prepared.request.captureId, t.sha256))).toBeNull();
      expect(await catalog.services.store.head(chunkKey(t.sha256))).toBeNull();
    }
    const err = await commit(catalog, prepared.request.captureId).catch((e) => e);
    expect(err).toMatchObject({ status: 422 });
    await expectNothingIndexed(prepared.request.captureId);
  });
});
