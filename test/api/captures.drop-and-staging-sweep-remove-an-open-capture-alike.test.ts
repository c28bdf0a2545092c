/**
 * An open capture dropped by an admin (DELETE /v1/captures/{id}) and one the staging sweep
 * drops 24 h after its last begin go the same way (api/ingest/staging.ts deleteOpenCaptures):
 * the row, the records of chunks it delivered through the catalog, its failed commit job and
 * its staging area; chunks it published stay in the store. A fresh open capture, and one whose
 * commit job waits, are left to the sweep's next turn and to the job.
 */
import { randomBytes } from 'node:crypto';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sweepStaging } from '../../api/ingest/staging.js';
import { chunkKey, stagingPrefix } from '../../api/store/types.js';
import { captureChunks, captures, commitJobs } from '../../db/schema.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, frameChunks, prepareCapture, uploadMissing, type PreparedCapture } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;
const HOST = 'esx-drop';

describeEachFlavour('an open capture dropped by an admin or by the staging sweep', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  const opened: Record<string, { prepared: PreparedCapture; published: string }> = {};

  /** Begins a capture of a compressible chunk (sent through the catalog: a record) and a random one (uploaded to staging). */
  async function open(name: string, jobState: 'failed' | 'queued') {
    const prepared = prepareCapture({
      host: HOST,
      hostKind: 'esxi',
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: `${name}.hex`,
          bytes: new Uint8Array([...new Uint8Array(MiB).fill(Object.keys(opened).length + 1), ...randomBytes(MiB)]),
          gzip: true,
        },
      ],
    });
    const answer = await begin(catalog, prepared.request, token);
    const small = answer.missing.filter((m) => prepared.stored.get(m.sha256)!.length <= 128 * 1024);
    const large = answer.missing.filter((m) => !small.includes(m));
    expect([small.length, large.length]).toEqual([1, 1]);
    const res = await catalog.request(`/v1/captures/${prepared.request.captureId}/chunks`, {
      method: 'PUT',
      token,
      headers: { 'content-type': 'application/octet-stream' },
      body: frameChunks(small.map((m) => [m.sha256, prepared.stored.get(m.sha256)!])) as unknown as BodyInit,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await uploadMissing(catalog, prepared, { ...answer, missing: large });
    const id = prepared.request.captureId;
    await catalog.services.db.insert(commitJobs).values({ captureId: id, host: HOST, state: jobState, bytes: MiB, queuedAt: catalog.services.now() });
    opened[name] = { prepared, published: small[0].sha256 };
    return id;
  }

  /** What is left of a capture in the catalog and the store. */
  async function left(id: string) {
    const { db, store } = catalog.services;
    const staged: string[] = [];
    for await (const o of store.list(stagingPrefix(id))) staged.push(o.key);
    return {
      rows: (
        await db
          .select({ id: captures.id })
          .from(captures)
          .where(inArray(captures.id, [id]))
      ).length,
      records: (
        await db
          .select()
          .from(captureChunks)
          .where(inArray(captureChunks.captureId, [id]))
      ).length,
      jobs: (
        await db
          .select()
          .from(commitJobs)
          .where(inArray(commitJobs.captureId, [id]))
      ).length,
      staged: staged.length,
    };
  }

  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    ({ [HOST]: token } = await collectorTokens(catalog, [HOST]));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('leaves nothing of either, and keeps what the sweep must not take', async () => {
    const dropped = await open('dropped', 'failed');
    const swept = await open('swept', 'failed');
    const fresh = await open('fresh', 'failed');
    const waiting = await open('waiting', 'queued');
    for (const id of [dropped, swept, fresh, waiting]) expect(await left(id), id).toEqual({ rows: 1, records: 1, jobs: 1, staged: 1 });

    const res = await catalog.request(`/v1/captures/${dropped}`, { method: 'DELETE' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ captureId: dropped, host: HOST, dropped: true, chunkRecords: 1 });

    // Last begun 25 h ago: abandoned, as is `waiting`, whose queued job keeps it.
    await catalog.services.db.execute(
      sql`UPDATE captures SET last_begun_at = now() - interval '25 hours', received_at = now() - interval '25 hours' WHERE id IN (${swept}, ${waiting})`,
    );
    const result = await sweepStaging(catalog.services);
    expect(result.expired).toBe(1);

    const gone = { rows: 0, records: 0, jobs: 0, staged: 0 };
    expect(await left(dropped)).toEqual(gone);
    expect(await left(swept)).toEqual(gone);
    expect(await left(fresh)).toEqual({ rows: 1, records: 1, jobs: 1, staged: 1 });
    expect(await left(waiting)).toMatchObject({ rows: 1, jobs: 1 });
    // What each published through the catalog stays for the collector's next begin.
    for (const name of ['dropped', 'swept']) expect(await catalog.services.store.getBytes(chunkKey(opened[name].published))).not.toBeNull();
  });
});
