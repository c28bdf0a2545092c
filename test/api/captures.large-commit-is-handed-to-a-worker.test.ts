/**
 * A commit that must read more uploaded bytes than COMMIT_INLINE_MAX_BYTES is handed to a
 * worker (api/ingest/commit-jobs.ts): POST commit answers 202 with Retry-After, repeating it
 * answers 202 while the job waits or runs, then the same 200 a synchronous commit gives
 * (same artifact ids, same parse results); a job that fails answers the commit's own 4xx
 * once, and the next POST tries again; another host's collector token can neither start,
 * poll nor see the job. Over a real socket, on both flavours.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { artifactId } from '../../api/ingest/begin.js';
import { commitJobsOf, runCommitJob, settleCommitJobs } from '../../api/ingest/commit-jobs.js';
import { stagingKey } from '../../api/store/types.js';
import { artifacts, captures, commitJobs } from '../../db/schema.js';
import type { CommitInProgress, CommitResponse } from '../../formats/protocol.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, prepareCapture, putChunk, uploadMissing, type PreparedCapture } from '../helpers/ingest-client.js';
import { tokenFor } from './read-side-seed.js';

const MiB = 1024 * 1024;
const THRESHOLD = 2 * MiB;

/**
 * A header dump of 4 MiB whose filler is random: nothing in it dedupes against another capture,
 * and its 2.5 MiB of random bytes stay over THRESHOLD however they are stored.
 */
function bigDump(): Uint8Array {
  return buildVmfsDisk({ dumpLength: 4 * MiB, extraRegions: [{ offset: 1.5 * MiB, bytes: randomBytes(2.5 * MiB) }] });
}

function captureOf(host: string, dump: Uint8Array): PreparedCapture {
  return prepareCapture({
    host,
    hostKind: 'esxi',
    artifacts: [
      {
        kind: 'vmfs-header',
        fileName: 'support.bin',
        sourcePath: `/vmfs/devices/disks/${DEFAULTS.deviceId}`,
        device: DEFAULTS.deviceId,
        bytes: dump,
        gzip: true,
      },
    ],
  });
}

describeEachFlavour('captures: a large commit is handed to a worker', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true, env: { COMMIT_INLINE_MAX_BYTES: String(THRESHOLD) } });
  });
  afterAll(async () => {
    if (catalog) await settleCommitJobs(catalog.services);
    await catalog?.close();
  });

  const post = (captureId: string, token?: string, prefer: string | null = 'respond-async') =>
    catalog.request(`/v1/captures/${captureId}/commit`, { method: 'POST', token, headers: prefer ? { prefer } : {} });

  /** POSTs commit until it answers something other than 202, letting this process's jobs end in between. */
  async function commitUntilDone(captureId: string, token?: string): Promise<Response> {
    for (;;) {
      const res = await post(captureId, token);
      if (res.status !== 202) return res;
      await res.body?.cancel();
      await settleCommitJobs(catalog.services);
    }
  }

  /** Hands jobs to no one: they stay queued until the test runs them (as the Lambda service would). */
  function holdJobs(): string[] {
    const handed: string[] = [];
    catalog.services.dispatchCommit = async (id) => {
      handed.push(id);
    };
    return handed;
  }

  it('answers 202 with Retry-After, then the same 200 a synchronous commit gives', async () => {
    const dump = bigDump();
    // The synchronous answer, from another host (whose chunks it cannot share) with the threshold out of the way.
    const sync = captureOf('esx-sync', dump);
    await uploadMissing(catalog, sync, await begin(catalog, sync.request));
    catalog.services.config.COMMIT_INLINE_MAX_BYTES = 2 ** 40;
    const syncRes = await post(sync.request.captureId);
    catalog.services.config.COMMIT_INLINE_MAX_BYTES = THRESHOLD;
    expect(syncRes.status).toBe(200);
    const syncBody = (await syncRes.json()) as CommitResponse;

    const big = captureOf('esx-async', dump);
    await uploadMissing(catalog, big, await begin(catalog, big.request));
    const first = await post(big.request.captureId);
    expect(first.status).toBe(202);
    const progress = (await first.json()) as CommitInProgress;
    expect(progress).toMatchObject({ captureId: big.request.captureId, state: 'committing' });
    expect(progress.bytes).toBeGreaterThan(THRESHOLD);
    expect(Number(first.headers.get('retry-after'))).toBe(progress.retryAfter);
    expect(progress.retryAfter).toBeGreaterThanOrEqual(2);

    const done = await commitUntilDone(big.request.captureId);
    expect(done.status).toBe(200);
    const body = (await done.json()) as CommitResponse;
    expect(body.state).toBe('committed');
    expect(body.artifacts.map((a) => a.id)).toEqual([artifactId(big.request.captureId, 0)]);
    const strip = (r: CommitResponse) => r.artifacts.map(({ id: _id, ...rest }) => rest);
    expect(strip(body)).toEqual(strip(syncBody));
    expect(body.artifacts[0]).toMatchObject({ parseStatus: 'ok' });

    // Committed once: one capture row, one artifact, no job left; a repeat answers the same.
    const { db } = catalog.services;
    expect(await db.select({ state: captures.state }).from(captures).where(eq(captures.id, big.request.captureId))).toEqual([{ state: 'committed' }]);
    expect(await db.select({ id: artifacts.id }).from(artifacts).where(eq(artifacts.captureId, big.request.captureId))).toHaveLength(1);
    expect(await commitJobsOf(db, [big.request.captureId])).toEqual([]);
    const again = await post(big.request.captureId);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(body);

    // The next capture of the same large dump on the same host has nothing new to verify: 200 at once.
    const unchanged = captureOf('esx-async', dump);
    const begun = await begin(catalog, unchanged.request);
    expect(begun.missing).toEqual([]);
    const next = await post(unchanged.request.captureId);
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ state: 'committed', artifacts: [{ id: artifactId(unchanged.request.captureId, 0), parseStatus: 'ok' }] });
  });

  it('a client that does not take 202 (no Prefer: respond-async) is told 503 + Retry-After while the worker goes on', async () => {
    const big = captureOf('esx-legacy', bigDump());
    await uploadMissing(catalog, big, await begin(catalog, big.request));
    const res = await post(big.request.captureId, undefined, null);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
    await settleCommitJobs(catalog.services);
    // Its retry finds the capture committed.
    const later = await post(big.request.captureId, undefined, null);
    expect(later.status).toBe(200);
    expect(await later.json()).toMatchObject({ state: 'committed', artifacts: [{ id: artifactId(big.request.captureId, 0) }] });
  });

  it('a small commit is answered at once, as before', async () => {
    const small = prepareCapture({
      host: 'esx-small',
      artifacts: [{ kind: 'vmfs-header', fileName: 's.hex', bytes: buildVmfsDisk({ dumpLength: 'legacy', noiseSeed: 77 }) }],
    });
    await uploadMissing(catalog, small, await begin(catalog, small.request));
    const res = await post(small.request.captureId);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: 'committed' });
  });

  it('repeating the commit while the job waits queues nothing twice; the job runs once', async () => {
    const handed = holdJobs();
    try {
      const big = captureOf('esx-repeat', bigDump());
      await uploadMissing(catalog, big, await begin(catalog, big.request));
      const id = big.request.captureId;
      const answers: CommitInProgress[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(id);
        expect(res.status).toBe(202);
        answers.push((await res.json()) as CommitInProgress);
      }
      expect(new Set(answers.map((a) => a.queuedAt)).size).toBe(1);
      expect(answers.every((a) => a.startedAt === null && a.attempts === 0)).toBe(true);
      expect(await commitJobsOf(catalog.services.db, [id])).toHaveLength(1);
      // Handed on each time it was found waiting (a lost hand-off is made good by the next POST).
      expect(handed).toEqual([id, id, id]);

      // Two runners at once: one takes it, the other finds nothing to take.
      const outcomes = await Promise.all([runCommitJob(catalog.services, id, 'runner-a'), runCommitJob(catalog.services, id, 'runner-b')]);
      expect(outcomes.sort()).toEqual(['committed', 'not-taken']);
      expect(await runCommitJob(catalog.services, id, 'runner-c')).toBe('not-taken');
      const res = await post(id);
      expect(res.status).toBe(200);
      expect(((await res.json()) as CommitResponse).artifacts.map((a) => a.id)).toEqual([artifactId(id, 0)]);
    } finally {
      delete catalog.services.dispatchCommit;
    }
  });

  it('a job that fails verification answers 422 once; a fixed upload then commits', async () => {
    const big = captureOf('esx-badchunk', bigDump());
    const answer = await begin(catalog, big.request);
    const [victim, ...rest] = answer.missing;
    for (const t of rest) expect((await putChunk(catalog, t, big.stored.get(t.sha256)!)).ok).toBe(true);
    // Bytes that do not hash to the chunk's name, staged behind the upload URL's back.
    const wrong = new Uint8Array(big.stored.get(victim.sha256)!);
    wrong[100] ^= 0xff;
    await catalog.services.store.put(stagingKey(big.request.captureId, victim.sha256), wrong);

    const first = await post(big.request.captureId);
    expect(first.status).toBe(202);
    await first.body?.cancel();
    const failed = await commitUntilDone(big.request.captureId);
    expect(failed.status).toBe(422);
    const err = (await failed.json()) as { error: { code: string; message: string; requestId: string } };
    expect(err.error.code).toBe('unprocessable');
    expect(err.error.message).toContain(victim.sha256);
    expect(err.error.requestId).toBeTruthy();
    const [cap] = await catalog.services.db.select({ state: captures.state }).from(captures).where(eq(captures.id, big.request.captureId));
    expect(cap.state).toBe('open');

    // Reported once: the next POST is a fresh attempt (202), which fails the same way.
    const retry = await post(big.request.captureId);
    expect(retry.status).toBe(202);
    await retry.body?.cancel();
    expect((await commitUntilDone(big.request.captureId)).status).toBe(422);

    // What the collector does on 422: begin again, upload what is missing, commit again.
    const again = await begin(catalog, big.request);
    expect(again.missing.map((t) => t.sha256)).toContain(victim.sha256);
    await uploadMissing(catalog, big, again);
    const done = await commitUntilDone(big.request.captureId);
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ state: 'committed', artifacts: [{ id: artifactId(big.request.captureId, 0), parseStatus: 'ok' }] });
  });

  it("another host's collector token can neither start, poll nor see a commit job", async () => {
    const own = await tokenFor(catalog, 'collector', 'esx-owner');
    const hostile = await tokenFor(catalog, 'collector', 'esx-other');
    const big = captureOf('esx-owner', bigDump());
    await uploadMissing(catalog, big, await begin(catalog, big.request, own));
    const id = big.request.captureId;
    const { db } = catalog.services;

    const refusedStart = await post(id, hostile);
    // Answered as an id the catalog does not hold (404).
    expect(refusedStart.status).toBe(404);
    const startBody = await refusedStart.text();
    expect(startBody).not.toMatch(/committing|queuedAt|bytes/);
    expect(await db.select().from(commitJobs).where(eq(commitJobs.captureId, id))).toEqual([]);

    const handed = holdJobs();
    try {
      const started = await post(id, own);
      expect(started.status).toBe(202);
      const job = (await started.json()) as CommitInProgress;
      const refusedPoll = await post(id, hostile);
      expect(refusedPoll.status).toBe(404);
      expect(refusedPoll.headers.get('retry-after')).toBeNull();
      expect(await refusedPoll.text()).not.toMatch(/committing|queuedAt|bytes/);
      // The hostile poll handed nothing on and changed nothing.
      expect(handed).toEqual([id]);
      const [row] = await commitJobsOf(db, [id]);
      expect(row.queuedAt.toISOString()).toBe(job.queuedAt);
      expect(row.state).toBe('queued');
    } finally {
      delete catalog.services.dispatchCommit;
    }
    // The owner's next poll runs it; a failed job's error is not the other host's to read either.
    const done = await commitUntilDone(id, own);
    expect(done.status).toBe(200);
    expect((await post(id, hostile)).status).toBe(404);
  });
});
