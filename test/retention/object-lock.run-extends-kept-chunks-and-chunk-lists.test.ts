/**
 * A retention run extends the Object Lock of what it keeps: each kept capture's manifest, its
 * chunks and its artifacts' chunk lists (stored as chunks since format 3) — and nothing of a
 * capture it dropped. The store here records the dates it is asked to set (the S3 requests
 * themselves are covered by object-lock.puts-carry-retention-dates).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runRetention } from '../../api/retention/run.js';
import { rowsOf } from '../../api/retention/gather.js';
import { type BlobStore, chunkKey } from '../../api/store/types.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

let catalog: TestCatalog;
let clock = new Date('2026-11-01T02:01:00Z');
const captures: Array<{ captureId: string; manifestKey: string }> = [];
beforeAll(async () => {
  catalog = await startTestCatalog('embedded', { now: () => clock });
  const same = randomBytes(3000);
  for (const day of [1, 2]) {
    const at = new Date(Date.UTC(2026, 10, day, 2, 0, 0));
    clock = new Date(at.getTime() + 60_000);
    const done = await ingest(catalog, {
      host: 'stor-lock',
      hostKind: 'solaris',
      collectedAt: at,
      artifacts: [
        { kind: 'unknown', fileName: 'daily.bin', sourcePath: '/var/dumps/daily.bin', bytes: randomBytes(2000) },
        { kind: 'unknown', fileName: 'same.bin', sourcePath: '/var/dumps/same.bin', bytes: same },
      ],
    });
    captures.push(done);
  }
}, 60_000);
afterAll(async () => {
  await catalog?.close();
});

it('extends the lock of a kept capture’s manifest, chunks and chunk lists, not of what it dropped', async () => {
  const { db } = catalog.services;
  const named = rowsOf<{ capture_id: string; file_name: string; chunk_list: string; chunk: string }>(
    await db.execute(sql`select a.capture_id, a.file_name, a.chunk_list, c->>'sha256' as chunk from artifacts a, jsonb_array_elements(a.chunks) c`),
  );
  const [dropped, kept] = captures;
  const of = (captureId: string, fileName: string) => named.find((r) => r.capture_id === captureId && r.file_name === fileName)!;
  expect(of(kept.captureId, 'same.bin').chunk_list).toBe(of(dropped.captureId, 'same.bin').chunk_list);
  expect(of(kept.captureId, 'daily.bin').chunk_list).not.toBe(of(dropped.captureId, 'daily.bin').chunk_list);

  const extended = new Map<string, Date>();
  const store: BlobStore = Object.assign(Object.create(catalog.services.store) as BlobStore, {
    lockedUntil: async () => null,
    extendLock: async (key: string, until: Date) => void extended.set(key, until),
  });
  const report = await runRetention({ ...catalog.services, store }, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
  expect(report.dropped).toEqual([dropped.captureId]);

  const keptKeys = [
    kept.manifestKey,
    ...['daily.bin', 'same.bin'].flatMap((f) => [chunkKey(of(kept.captureId, f).chunk), chunkKey(of(kept.captureId, f).chunk_list)]),
  ];
  expect([...extended.keys()].sort()).toEqual([...new Set(keptKeys)].sort());
  expect(report.lockExtended).toBe(new Set(keptKeys).size);
  for (const until of extended.values()) expect(until.getTime()).toBeGreaterThan(clock.getTime());
});
