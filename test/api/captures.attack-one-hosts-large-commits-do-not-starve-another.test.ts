/**
 * A holder of one host's collector token may queue many large commits (one per open capture,
 * up to 32): commit jobs are taken host by host in turn (api/ingest/commit-jobs.ts
 * takeableJobs), so another host's job queued after all of them is taken next, not after
 * them; and a slot that frees starts the next waiting job at once rather than at the worker's
 * next look. Real protocol on both flavours; jobs are held back from dispatch (as on Lambda)
 * so the order can be read before anything runs.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOCAL_JOBS, settleCommitJobs, startCommitWorker, takeableJobs } from '../../api/ingest/commit-jobs.js';
import { commitJobs } from '../../db/schema.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
const THRESHOLD = 1 * MiB;

describeEachFlavour('commit jobs: one host’s large commits do not starve another’s', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true, env: { COMMIT_INLINE_MAX_BYTES: String(THRESHOLD) } });
    tokens = await collectorTokens(catalog, ['esx-greedy', 'esx-victim']);
    // Jobs are dispatched to no one: they wait queued until the test or the worker takes them.
    catalog.services.dispatchCommit = async () => {};
  });
  afterAll(async () => {
    if (catalog) await settleCommitJobs(catalog.services);
    await catalog?.close();
  });

  /** Begins, uploads and POSTs commit for a capture of 2 MiB of random bytes: a 202 and a queued job. */
  async function queued(host: string): Promise<string> {
    const p = prepareCapture({
      host,
      hostKind: 'esxi',
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'lun.bin',
          sourcePath: `/vmfs/devices/disks/${DEFAULTS.deviceId}`,
          device: DEFAULTS.deviceId,
          bytes: buildVmfsDisk({ dumpLength: 3 * MiB, extraRegions: [{ offset: 1 * MiB + 512 * 1024, bytes: randomBytes(2 * MiB) }] }),
          gzip: true,
        },
      ],
    });
    await uploadMissing(catalog, p, await begin(catalog, p.request, tokens[host]));
    const res = await catalog.request(`/v1/captures/${p.request.captureId}/commit`, {
      method: 'POST',
      token: tokens[host],
      headers: { prefer: 'respond-async' },
    });
    expect(res.status).toBe(202);
    await res.body?.cancel();
    return p.request.captureId;
  }

  it('another host’s job queued last is taken second, and first while the greedy host’s job runs', async () => {
    const greedy = [await queued('esx-greedy'), await queued('esx-greedy'), await queued('esx-greedy')];
    const victim = await queued('esx-victim');
    expect(await takeableJobs(catalog.services)).toEqual([greedy[0], victim, greedy[1], greedy[2]]);

    // The greedy host's first job runs elsewhere (another process holds its lease): its turn is taken.
    const { db } = catalog.services;
    const later = new Date(catalog.services.now().getTime() + 3600_000);
    await db.update(commitJobs).set({ state: 'running', runner: 'elsewhere', leaseUntil: later }).where(eq(commitJobs.captureId, greedy[0]));
    expect(await takeableJobs(catalog.services)).toEqual([victim, greedy[1], greedy[2]]);
    // A lease that ran out is takeable again, in its host's first turn.
    await db
      .update(commitJobs)
      .set({ leaseUntil: new Date(catalog.services.now().getTime() - 1000) })
      .where(eq(commitJobs.captureId, greedy[0]));
    expect(await takeableJobs(catalog.services)).toEqual([greedy[0], victim, greedy[1], greedy[2]]);
  });

  it('a freed slot starts the next waiting job at once: all commit though the worker looks only once an hour', async () => {
    const waiting = await takeableJobs(catalog.services);
    expect(waiting.length).toBeGreaterThan(LOCAL_JOBS);
    const stop = await startCommitWorker(catalog.services, { everyMs: 3600_000 });
    try {
      // The worker's first look fills the slots; each job that ends starts the next.
      for (let i = 0; i < 600 && (await takeableJobs(catalog.services)).length + (await running()) > 0; i++) {
        await settleCommitJobs(catalog.services);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await takeableJobs(catalog.services)).toEqual([]);
      expect(await db().select().from(commitJobs)).toEqual([]);
    } finally {
      stop();
    }
  });

  const db = () => catalog.services.db;
  async function running(): Promise<number> {
    return (await db().select().from(commitJobs).where(eq(commitJobs.state, 'running'))).length;
  }
});
