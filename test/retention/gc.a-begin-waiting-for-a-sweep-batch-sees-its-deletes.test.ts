/**
 * A begin that arrives while a sweep batch runs waits for it (the ingest lock, shared, against
 * the batch's exclusive hold: api/retention/lock.ts) and then says which chunks are present as
 * the batch left them: a chunk the batch deleted (its `blobs` and `host_chunks` rows and its
 * object) is handed out for upload, never answered present. On PostgreSQL a statement reads
 * with the snapshot taken when it started; a begin whose one statement took the lock and read
 * the host's held chunks saw them as they were before the batch, answered the swept chunk
 * present, and its commit was refused (the chunk never uploaded). The batch is held here while
 * it deletes the chunk's object, the begin is sent then and waits on the lock, and the batch
 * then ends.
 *
 * Real HTTP over the collector protocol.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, prepareCapture, sha256Hex, uploadMissing } from '../helpers/ingest-client.js';
import { runRetention } from '../../api/retention/run.js';
import { chunkKey } from '../../api/store/types.js';
import { rowsOf } from '../../api/retention/gather.js';

describeEachFlavour('a begin waiting for a sweep batch', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
  }, 60_000);
  afterAll(async () => {
    await catalog?.close();
  });

  it('is asked to upload a chunk the batch deleted, and its capture commits', async () => {
    const host = 'esx-sweep-race';
    const old = randomBytes(3000);
    const swept = sha256Hex(old);
    const t0 = Date.now() - 3 * 86_400_000;
    await ingest(catalog, { host, collectedAt: new Date(t0), artifacts: [{ kind: 'unknown', fileName: 'a.bin', bytes: old }] });
    await ingest(catalog, { host, collectedAt: new Date(t0 + 86_400_000), artifacts: [{ kind: 'unknown', fileName: 'a.bin', bytes: randomBytes(3000) }] });

    // The sweep batch is held while it deletes the old capture's chunk: it holds the lock exclusive
    // and has deleted the chunk's rows, not yet committed.
    const { store, db } = catalog.services;
    const deleteOf = store.delete.bind(store);
    let entered!: () => void;
    const inBatch = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    store.delete = async (key: string) => {
      if (key === chunkKey(swept)) {
        entered();
        await released;
      }
      return deleteOf(key);
    };
    try {
      const run = runRetention(catalog.services, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
      await inBatch;
      const next = prepareCapture({ host, artifacts: [{ kind: 'unknown', fileName: 'a.bin', bytes: old }] });
      const answering = begin(catalog, next.request);
      if (flavour === 'postgres-s3') {
        // The begin's statement has started and waits on the lock.
        for (;;) {
          const waiting = rowsOf<{ n: number }>(
            await db.execute(sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory'`),
          );
          if (waiting[0].n > 0) break;
          await new Promise((r) => setTimeout(r, 10));
        }
      } else {
        // One connection: the begin runs once the batch's transaction has ended.
        await new Promise((r) => setTimeout(r, 50));
      }
      release();
      expect((await run).chunksDeleted).toBeGreaterThan(0);
      const answer = await answering;
      expect(answer.missing.map((m) => m.sha256)).toEqual([swept]);
      expect(answer.present ?? []).toEqual([]);
      await uploadMissing(catalog, next, answer);
      const done = await commit(catalog, next.request.captureId);
      expect(done.state).toBe('committed');
      const res = await catalog.request(`/v1/artifacts/${done.artifacts[0].id}/content`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(old)).toBe(true);
    } finally {
      release();
      store.delete = deleteOf;
    }
  }, 120_000);
});
