/**
 * A year of daily captures (2025, noon UTC, three artifact sources each) under the default
 * policy: the dry run explains all 365 and keeps 22 — the last 7 days, the newest of the
 * last 5 ISO weeks (2025-12-31 falls in ISO week 2026-W1), the last capture of each month,
 * and of the year plus the oldest (restic's "oldest yearly", doc/060_forget.rst). Rows are
 * written directly (not through ingest) so the year loads quickly; the time the plan takes
 * is printed, not asserted.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { artifacts, captures } from '../../db/schema.js';
import { planRetention } from '../../api/retention/gather.js';
import { DEFAULT_POLICY } from '../../api/retention/policy.js';

let catalog: TestCatalog;
beforeAll(async () => {
  catalog = await startTestCatalog('embedded');
  const caps: Array<typeof captures.$inferInsert> = [];
  const arts: Array<typeof artifacts.$inferInsert> = [];
  for (let d = 0; d < 365; d++) {
    const at = new Date(Date.UTC(2025, 0, 1 + d, 12));
    const id = `00000000-0000-7000-8000-${String(d).padStart(12, '0')}`;
    caps.push({
      id,
      host: 'stor1',
      state: 'committed',
      collectedAt: at,
      receivedAt: at,
      committedAt: at,
      collectorVersion: 't',
      manifestKey: `manifests/stor1/${id}.json`,
      request: {},
    });
    for (const [j, src] of ['smf.xml', 'zfs.txt', 'comstar.txt'].entries()) {
      arts.push({
        id: `${id.slice(0, 24)}${j}${String(d).padStart(11, '0')}`,
        captureId: id,
        host: 'stor1',
        collectedAt: at,
        kind: 'unknown',
        fileName: src,
        sourcePath: `/var/${src}`,
        size: 1,
        sha256: 'x',
        chunks: [],
        parseStatus: 'opaque',
      });
    }
  }
  for (let i = 0; i < caps.length; i += 200) await catalog.services.db.insert(captures).values(caps.slice(i, i + 200));
  for (let i = 0; i < arts.length; i += 200) await catalog.services.db.insert(artifacts).values(arts.slice(i, i + 200));
}, 120_000);
afterAll(async () => {
  await catalog?.close();
});

it('explains all 365 captures and keeps 22', async () => {
  const started = performance.now();
  const plan = await planRetention(catalog.services.db, DEFAULT_POLICY, 'UTC', new Date('2025-12-31T18:00:00Z'));
  console.log(`[retention] dry-run plan over 365 daily captures × 3 sources: ${(performance.now() - started).toFixed(0)} ms`);
  expect(plan.captures).toHaveLength(365);
  for (const c of plan.captures) expect(c.reasons.length).toBeGreaterThan(0);
  const kept = plan.captures
    .filter((c) => c.decision === 'keep')
    .map((c) => c.collectedAt.slice(0, 10))
    .sort();
  expect(kept).toEqual([
    '2025-01-01',
    '2025-01-31',
    '2025-02-28',
    '2025-03-31',
    '2025-04-30',
    '2025-05-31',
    '2025-06-30',
    '2025-07-31',
    '2025-08-31',
    '2025-09-30',
    '2025-10-31',
    '2025-11-30',
    '2025-12-07',
    '2025-12-14',
    '2025-12-21',
    '2025-12-25',
    '2025-12-26',
    '2025-12-27',
    '2025-12-28',
    '2025-12-29',
    '2025-12-30',
    '2025-12-31',
  ]);
  const last = plan.captures.find((c) => c.collectedAt.startsWith('2025-12-31'))!;
  expect(last.reasons).toEqual(['within 7d', 'weekly 2026-W01', 'monthly 2025-12', 'yearly 2025']);
  expect(plan.captures.find((c) => c.collectedAt.startsWith('2025-01-01'))!.reasons).toEqual(['oldest yearly']);
  expect(plan.captures.find((c) => c.collectedAt.startsWith('2025-06-15'))!.reasons).toEqual(['no rule keeps it']);
});
