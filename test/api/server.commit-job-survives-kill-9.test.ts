/**
 * A commit job survives kill -9 of the server running it: the real `api/server.ts` (a child
 * process) takes a large capture's commit as a job, is killed with SIGKILL while the job runs
 * (checked in the database the killed server left: capture open, job running), and after a
 * restart the job is taken again and the capture is committed exactly once — one artifact
 * row per artifact, the ids a synchronous commit gives, no job left. On the embedded database
 * the restarted server takes up the job at once; on PostgreSQL (where several servers may
 * share the database) once the dead runner's lease ran out.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactId } from '../../api/ingest/begin.js';
import { manifestKey } from '../../api/store/types.js';
import { openDb } from '../../db/client.js';
import { artifacts, captures, commitJobs } from '../../db/schema.js';
import type { CommitInProgress, CommitResponse } from '../../formats/protocol.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { availableFlavours, type Flavour } from '../helpers/catalog.js';
import { createDatabase, PG_TEMPLATE_ENV } from '../helpers/database.js';
import { begin, prepareCapture, remoteCatalog, uploadMissing } from '../helpers/ingest-client.js';
import { serverChildEnv, startServerChild, type ServerChild } from '../helpers/server-child.js';
import { s3TestConfig } from '../helpers/swift.js';

const MiB = 1024 * 1024;

for (const flavour of availableFlavours() as Flavour[]) {
  // Each flavour has its own servers, data dir and database: they run at once.
  describe.concurrent(`a commit job after kill -9 [${flavour}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-job-kill9-'));
    const token = `job-kill9-admin-${randomBytes(16).toString('hex')}`;
    const servers: ServerChild[] = [];
    let dropDb: (() => Promise<void>) | undefined;
    afterAll(async () => {
      for (const s of servers) await s.kill('SIGKILL');
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('is taken again after a restart and commits the capture exactly once', { timeout: 600_000 }, async () => {
      const env: Record<string, string> = { ...(await serverChildEnv(dataDir, token)), COMMIT_INLINE_MAX_BYTES: String(MiB), COMMIT_JOB_LEASE_SECONDS: '3' };
      let databaseUrl: string | undefined;
      if (flavour === 'postgres-s3') {
        // A copy of the run's migrated template (test/helpers/build-once.ts): the server finds its migrations applied.
        const created = await createDatabase(process.env.TEST_DATABASE_URL!, 'vrc_test', process.env[PG_TEMPLATE_ENV]);
        dropDb = created.drop;
        databaseUrl = created.url;
        const s3 = s3TestConfig()!;
        const bucket = `vrc-test-${randomBytes(5).toString('hex')}`;
        await s3.createBucket(bucket);
        Object.assign(env, { DATABASE_URL: created.url, S3_BUCKET: bucket, S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true' });
      }
      const first = await startServerChild(env);
      servers.push(first);
      const catalog = remoteCatalog(first.url, token);
      // 48 MiB of random filler: a second or more of reading and hashing, so the kill (sent as soon
      // as a poll sees the job started) lands mid-job.
      const dump = buildVmfsDisk({ dumpLength: 52 * MiB, extraRegions: [{ offset: 4 * MiB, bytes: randomBytes(48 * MiB) }] });
      const prepared = prepareCapture({
        host: 'esx-job-kill9',
        artifacts: [{ kind: 'vmfs-header', fileName: 'support.bin', device: DEFAULTS.deviceId, bytes: dump }],
      });
      const id = prepared.request.captureId;
      await uploadMissing(catalog, prepared, await begin(catalog, prepared.request));

      const poll = (c = catalog) => c.request(`/v1/captures/${id}/commit`, { method: 'POST', headers: { prefer: 'respond-async' } });
      let progress: CommitInProgress;
      do {
        const res = await poll();
        expect(res.status).toBe(202);
        progress = (await res.json()) as CommitInProgress;
      } while (progress.startedAt === null);
      expect(await first.kill('SIGKILL')).toBe('SIGKILL');

      // What the killed server left: the capture open, its job running with one attempt.
      const left = await openDb({ databaseUrl, dataDir });
      try {
        expect(await left.db.select({ state: captures.state }).from(captures).where(eq(captures.id, id))).toEqual([{ state: 'open' }]);
        const [job] = await left.db.select().from(commitJobs).where(eq(commitJobs.captureId, id));
        expect([job.state, job.attempts]).toEqual(['running', 1]);
      } finally {
        await left.close();
      }

      const second = await startServerChild(env);
      servers.push(second);
      const again = remoteCatalog(second.url, token);
      let res: Response;
      for (;;) {
        res = await poll(again);
        if (res.status !== 202) break;
        const p = (await res.json()) as CommitInProgress;
        // Polled more often than Retry-After asks: the answer comes as soon as the lease lapses and the job ends.
        await new Promise((r) => setTimeout(r, Math.min(p.retryAfter, 0.25) * 1000));
      }
      expect(res.status).toBe(200);
      const done = (await res.json()) as CommitResponse;
      expect(done.artifacts.map((a) => a.id)).toEqual([artifactId(id, 0)]);
      expect(done.artifacts[0].parseStatus).toBe('ok');
      expect(await second.kill('SIGTERM')).toBe(0);

      const after = await openDb({ databaseUrl, dataDir });
      try {
        expect(await after.db.select({ state: captures.state }).from(captures).where(eq(captures.id, id))).toEqual([{ state: 'committed' }]);
        expect(await after.db.select({ id: artifacts.id }).from(artifacts).where(eq(artifacts.captureId, id))).toEqual([{ id: artifactId(id, 0) }]);
        expect(await after.db.select().from(commitJobs)).toEqual([]);
      } finally {
        await after.close();
      }
      if (flavour === 'embedded') expect(existsSync(join(dataDir, 'blobs', manifestKey('esx-job-kill9', id)))).toBe(true);
    });
  });
}
