/**
 * The commit's hand-off estimate (api/ingest/commit-jobs.ts stagedBytesToVerify) counts only
 * bytes the commit must still read back and verify: chunks sent through the catalog (PUT
 * /v1/captures/{id}/chunks) were verified and published when they arrived, so a capture of
 * such chunks commits inline (200) whatever their total, while bytes uploaded to staging
 * through upload URLs past COMMIT_INLINE_MAX_BYTES are still handed to a worker (202). A
 * chunk counts as sent only for the capture it was sent to: a collector cannot lower one
 * capture's estimate with chunks it sent for another; and only in the process that holds its
 * copy (a commit in another process, another Lambda instance, would read it back from the
 * store). On both flavours.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ReceivedChunks, receivedOf, SMALL_CHUNK_MAX_STORED_BYTES } from '../../api/ingest/chunks.js';
import { commitJobsOf, settleCommitJobs, stagedBytesToVerify } from '../../api/ingest/commit-jobs.js';
import type { BeginResponse, CommitInProgress } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, frameChunks, prepareCapture, type PreparedCapture, putChunk } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
const THRESHOLD = 1 * MiB;

/** A dump-like artifact of 4 MiB: a little unique data amid zeros, every chunk gzipped far under the route's limit. */
function compressible(): Uint8Array {
  const b = new Uint8Array(4 * MiB);
  for (let i = 0; i < 4; i++) b.set(randomBytes(2048), i * MiB + 4096);
  return b;
}

describeEachFlavour('captures: chunks sent through the catalog do not hand a commit off', (flavour) => {
  let catalog: TestCatalog;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { env: { COMMIT_INLINE_MAX_BYTES: String(THRESHOLD) } });
    Object.assign(tokens, await collectorTokens(catalog, ['esx-sent', 'esx-url', 'esx-mixed', 'esx-two']));
  });
  afterAll(async () => {
    if (catalog) await settleCommitJobs(catalog.services);
    await catalog?.close();
  });

  const open = async (host: string, artifacts: Array<{ name: string; bytes: Uint8Array }>) => {
    const p = prepareCapture({ host, artifacts: artifacts.map((a) => ({ kind: 'vmfs-undelete', fileName: a.name, bytes: a.bytes, gzip: true })) });
    const answer = await begin(catalog, p.request, tokens[host]);
    expect(answer.missing.length).toBe(p.stored.size);
    return { p, answer };
  };
  /** Sends the missing chunks small enough for the route through it, in one batch. */
  const sendSmall = async (host: string, p: PreparedCapture, answer: BeginResponse) => {
    const small = answer.missing.filter((m) => p.stored.get(m.sha256)!.length <= SMALL_CHUNK_MAX_STORED_BYTES);
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
      method: 'PUT',
      token: tokens[host],
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(small.map((m) => [m.sha256, p.stored.get(m.sha256)!])) as unknown as BodyInit,
    });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    return new Set(small.map((m) => m.sha256));
  };
  /** Uploads the missing chunks not in `skip` to their upload URLs (staging). */
  const uploadRest = async (p: PreparedCapture, answer: BeginResponse, skip: Set<string> = new Set()) => {
    for (const m of answer.missing.filter((m) => !skip.has(m.sha256))) {
      const res = await putChunk(catalog, m, p.stored.get(m.sha256)!);
      expect(res.ok).toBe(true);
    }
  };
  const post = (captureId: string, host: string) =>
    catalog.request(`/v1/captures/${captureId}/commit`, { method: 'POST', token: tokens[host], headers: { prefer: 'respond-async' } });
  const declaredBytes = (p: PreparedCapture, only?: (sha: string) => boolean) =>
    [...new Map(p.request.artifacts.flatMap((a) => a.chunks.map((c) => [c.sha256, c.size] as const))).entries()]
      .filter(([sha]) => !only || only(sha))
      .reduce((n, [, size]) => n + size, 0);
  const estimate = (p: PreparedCapture, inMemory = receivedOf(catalog.services.store)) =>
    stagedBytesToVerify(catalog.services.db, p.request.host.name, p.request.captureId, p.request, inMemory, THRESHOLD);

  it('a capture whose chunks all came through the catalog commits inline past the limit', async () => {
    const { p, answer } = await open('esx-sent', [{ name: 'a.bin', bytes: compressible() }]);
    expect(declaredBytes(p)).toBeGreaterThan(THRESHOLD);
    const sent = await sendSmall('esx-sent', p, answer);
    expect(sent.size).toBe(p.stored.size);
    expect(await estimate(p)).toBe(0);
    // A process that did not take the batch (no copy of it) would read it back: it counts there.
    expect(await estimate(p, new ReceivedChunks())).toBe(declaredBytes(p));
    const res = await post(p.request.captureId, 'esx-sent');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: 'committed', artifacts: [{ parseStatus: expect.any(String) }] });
    expect(await commitJobsOf(catalog.services.db, [p.request.captureId])).toEqual([]);
  });

  it('the same kind of capture uploaded to staging through upload URLs is handed to a worker', async () => {
    const { p, answer } = await open('esx-url', [{ name: 'a.bin', bytes: compressible() }]);
    await uploadRest(p, answer);
    const res = await post(p.request.captureId, 'esx-url');
    expect(res.status).toBe(202);
    expect(((await res.json()) as CommitInProgress).bytes).toBe(declaredBytes(p));
    await settleCommitJobs(catalog.services);
    const done = await post(p.request.captureId, 'esx-url');
    expect(done.status).toBe(200);
    await done.body?.cancel();
  });

  it('only the staged part of a mixed capture counts, and past the limit it is handed off', async () => {
    // Random bytes do not compress: their chunks are too large for the route and go to upload URLs.
    const { p, answer } = await open('esx-mixed', [
      { name: 'sent.bin', bytes: compressible() },
      { name: 'staged.bin', bytes: randomBytes(2 * MiB + 100) },
    ]);
    const sent = await sendSmall('esx-mixed', p, answer);
    await uploadRest(p, answer, sent);
    const staged = declaredBytes(p, (sha) => !sent.has(sha));
    expect(staged).toBeGreaterThan(THRESHOLD);
    expect(staged).toBeLessThan(declaredBytes(p));
    const res = await post(p.request.captureId, 'esx-mixed');
    expect(res.status).toBe(202);
    expect(((await res.json()) as CommitInProgress).bytes).toBe(staged);
    await settleCommitJobs(catalog.services);
    const done = await post(p.request.captureId, 'esx-mixed');
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ state: 'committed' });
  });

  it('chunks sent for one capture do not lower the estimate of another capture of the same bytes', async () => {
    const bytes = compressible();
    const first = await open('esx-two', [{ name: 'a.bin', bytes }]);
    await sendSmall('esx-two', first.p, first.answer);
    // Not committed yet: the host holds none of them, so the second capture is asked for all.
    const second = await open('esx-two', [{ name: 'a.bin', bytes }]);
    await uploadRest(second.p, second.answer);
    expect(await estimate(second.p)).toBe(declaredBytes(second.p));
    const res = await post(second.p.request.captureId, 'esx-two');
    expect(res.status).toBe(202);
    await res.body?.cancel();
    await settleCommitJobs(catalog.services);
    for (const { p } of [second, first]) {
      const done = await post(p.request.captureId, 'esx-two');
      expect(done.status).toBe(200);
      expect(await done.json()).toMatchObject({ state: 'committed' });
    }
  });
});
