/**
 * Mark and sweep against concurrent ingest, randomised (the seed is printed): captures that
 * re-use chunks of captures retention is dropping are begun and committed while retention
 * runs (keep-last 1, so nearly every run drops and sweeps). Afterwards every committed
 * capture's artifact reads back byte for byte, `check` finds no missing chunk (nor a chunk
 * list a kept manifest names), and a last
 * run leaves the store clean. A commit may be refused with 503 (its chunk swept meanwhile,
 * api/retention/lock.ts): the collector then begins again, as here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, IngestHttpError } from '../helpers/ingest-client.js';
import { runRetention } from '../../api/retention/run.js';
import { checkStore } from '../../api/retention/check.js';
import { rowsOf } from '../../api/retention/gather.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describeEachFlavour('garbage collection under concurrent commits', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  }, 60_000);
  afterAll(async () => {
    await catalog?.close();
  });

  it('never lets a committed capture reference a swept chunk', async () => {
    const seed = Number(process.env.GC_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`[gc concurrency] seed ${seed} (GC_SEED=${seed} repeats this run)`);
    const rand = prng(seed);
    const payloads = Array.from({ length: 4 }, () => randomBytes(1500));
    const expected = new Map<string, Uint8Array>(); // artifact id → bytes
    let refused = 0;
    const ingestOne = async (i: number) => {
      const bytes = payloads[Math.floor(rand() * payloads.length)];
      for (let attempt = 0; ; attempt++) {
        try {
          const done = await ingest(catalog, {
            host: 'stor-gc',
            hostKind: 'solaris',
            collectedAt: new Date(Date.now() - (40 - i) * 1000),
            artifacts: [{ kind: 'unknown', fileName: 'x.bin', bytes }],
          });
          expected.set(done.artifacts[0].id, bytes);
          return;
        } catch (e) {
          if (!(e instanceof IngestHttpError) || (e.status !== 503 && e.status !== 422) || attempt > 5) throw e;
          refused++;
        }
      }
    };
    let finished = false;
    let swept = 0;
    let runCount = 0;
    const ingests = (async () => {
      try {
        for (let i = 0; i < 14; i++) await ingestOne(i);
      } finally {
        finished = true;
      }
    })();
    // Retention runs back to back (with random pauses) for as long as captures come in.
    const runs = (async () => {
      while (!finished) {
        await new Promise((res) => setTimeout(res, Math.floor(rand() * 30)));
        const r = await runRetention(catalog.services, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
        swept += r.chunksDeleted;
        runCount++;
      }
    })();
    await Promise.all([ingests, runs]);

    const committed = new Set(rowsOf<{ id: string }>(await catalog.services.db.execute(sql`select id from artifacts`)).map((r) => r.id));
    expect(committed.size).toBeGreaterThan(0);
    for (const id of committed) {
      const res = await catalog.request(`/v1/artifacts/${id}/content`);
      expect(res.status, `artifact ${id}`).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(expected.get(id)!))).toBe(true);
    }
    const c = await checkStore(catalog.services);
    expect(c.missingChunks).toEqual([]);
    expect(c.capturesWithoutManifest).toEqual([]);
    // Every kept manifest reads back, with the chunk lists it names (format 3).
    expect(c.unreadableManifests).toEqual([]);
    await runRetention(catalog.services, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
    expect((await checkStore(catalog.services, { readDataPercent: 100 })).clean).toBe(true);
    console.log(
      `[gc concurrency] ${runCount} runs swept ${swept} chunks while 14 captures came in; ${committed.size} kept; ${refused} commits refused and begun again`,
    );
    expect(swept).toBeGreaterThan(0);
  }, 240_000);
});
