/**
 * Retention of captures sent by `collector import` (begin `collector.mode: "import"`), over the
 * real ingest protocol: a year of old cron-script backups imported in one go keeps the newest
 * of every month, bucketed by the files' dates, where judged by receipt time all but two went;
 * the mark travels in the manifest. An attacker holding one host's collector token who marks
 * captures imported, dated just after another host's captures of the same device, changes
 * nothing retention decides for that other host. Captures of an older collector's import (no
 * mark) are named in the plan's warnings before a run drops them.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { planRetention, type RetentionPlan } from '../../api/retention/gather.js';
import { DEFAULT_POLICY } from '../../api/retention/policy.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';
import { BACKUP_DATES, IMPORTED_AT, JUDGED_AT } from '../retention/old-cron-backups.js';

const DEVICE = 'naa.6000c29a0b1c2d3e4f5a6b7c8d9e0f10';

let catalog: TestCatalog;
let clock = new Date('2026-06-01T00:00:00Z');
let tokens: Record<string, string>;

interface Sent {
  host: string;
  collectedAt: string;
  sourcePath: string;
  device?: string;
  mode?: 'import';
  /** A real header dump instead of opaque bytes. */
  dump?: Uint8Array;
}
async function send(s: Sent): Promise<string> {
  const prepared = prepareCapture({
    host: s.host,
    collectedAt: s.collectedAt,
    artifacts: [
      { kind: s.dump ? 'vmfs-header' : 'unknown', fileName: 'sdb.hex', sourcePath: s.sourcePath, device: s.device ?? null, bytes: s.dump ?? randomBytes(200) },
    ],
  });
  if (s.mode) prepared.request.collector.mode = s.mode;
  const answer = await begin(catalog, prepared.request, tokens[s.host]);
  await uploadMissing(catalog, prepared, answer);
  await commit(catalog, prepared.request.captureId, tokens[s.host]);
  return prepared.request.captureId;
}
const plan = () => planRetention(catalog.services.db, DEFAULT_POLICY, 'UTC', JUDGED_AT);
const ofHost = (p: RetentionPlan, host: string) => p.captures.filter((c) => c.host === host).map(({ series: _s, ...c }) => c);

const victim: string[] = [];
beforeAll(async () => {
  catalog = await startTestCatalog('embedded', { now: () => clock });
  tokens = await collectorTokens(catalog, ['esx01', 'esx02', 'esx03']);
  // esx02 collects its LUN live, every Monday from June on (received as collected).
  for (let t = Date.parse('2026-06-01T02:00:00Z'); t < JUDGED_AT.getTime(); t += 7 * 86_400_000) {
    clock = new Date(t + 5_000);
    victim.push(await send({ host: 'esx02', collectedAt: new Date(t).toISOString(), sourcePath: `/vmfs/devices/disks/${DEVICE}`, device: DEVICE }));
  }
}, 120_000);
afterAll(async () => {
  await catalog?.close();
});

it('a year of imported backups keeps the newest of every month, dated by their files', async () => {
  clock = IMPORTED_AT;
  for (const d of BACKUP_DATES) await send({ host: 'esx01', collectedAt: `${d}T02:00:00Z`, sourcePath: '/root/vmfs-header-backup-sdb.hex', mode: 'import' });
  const p = await plan();
  const kept = ofHost(p, 'esx01')
    .filter((c) => c.decision === 'keep')
    .map((c) => c.collectedAt.slice(0, 10))
    .sort();
  // Weekly 2026-W49, W47, W45, W44 and W42, monthly June to November, and the oldest.
  expect(kept).toEqual(['06-05', '06-28', '07-31', '08-22', '09-24', '10-16', '10-27', '11-07', '11-18', '11-30'].map((d) => `2026-${d}`));
  for (const c of ofHost(p, 'esx01')) {
    expect(c.imported).toBe(true);
    expect(c.time).toBe(c.collectedAt);
  }
  expect(p.warnings).toEqual([
    expect.stringMatching(
      /^host esx01: 9 of 19 imported captures \(collected 2026-06-10T02:00:00.000Z to 2026-10-05T02:00:00.000Z\) are dropped by the policy, bucketed by when they were collected/,
    ),
  ]);
  // The mark is in the capture's manifest, so a rebuild keeps it.
  const row = p.captures.find((c) => c.host === 'esx01')!;
  const manifest = JSON.parse(gunzipSync((await catalog.services.store.getBytes(row.manifestKey!))!).toString('utf8'));
  expect(manifest.collector).toEqual({ version: 'test-0', mode: 'import' });
});

it('a year of imported header dumps, each file at its own path, is one series: the device the dumps name', async () => {
  // Old cron scripts kept each day's dump in a dated directory; collector import sends each
  // with its own path and no device. Each was a series of its own, so none was ever thinned.
  clock = IMPORTED_AT;
  const dump = buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', deviceId: 'naa.6000c29a0b1c2d3e4f5a6b7c8d9e0f44', dumpLength: 'legacy', noiseSeed: 44 });
  for (const d of BACKUP_DATES)
    await send({ host: 'esx04', collectedAt: `${d}T02:00:00Z`, sourcePath: `/backup/${d}/vmfs-header-backup-sdb.hex`, mode: 'import', dump });
  const kept = ofHost(await plan(), 'esx04')
    .filter((c) => c.decision === 'keep')
    .map((c) => c.collectedAt.slice(0, 10))
    .sort();
  // As the year under one path above: weekly W49, W47, W45, W44, W42, monthly June to November, the oldest.
  expect(kept).toEqual(['06-05', '06-28', '07-31', '08-22', '09-24', '10-16', '10-27', '11-07', '11-18', '11-30'].map((d) => `2026-${d}`));
});

it("captures one host marks imported, dated into another host's buckets, change nothing retention decides for that host", async () => {
  const before = ofHost(await plan(), 'esx02');
  expect(before.filter((c) => c.decision === 'keep').length).toBeGreaterThan(5);
  expect(before.filter((c) => c.decision === 'drop').length).toBeGreaterThan(5);
  // esx01's token, esx02's device and source path: one capture the Sunday after each of
  // esx02's (the newest of its ISO week and, at month ends, of its month), one a day ahead.
  clock = new Date('2026-12-09T00:00:00Z');
  for (const id of victim) {
    const at = before.find((c) => c.captureId === id)!.collectedAt;
    const sunday = new Date(Date.parse(at) + 6 * 86_400_000 + 3_600_000).toISOString();
    await send({ host: 'esx01', collectedAt: sunday, sourcePath: `/vmfs/devices/disks/${DEVICE}`, device: DEVICE, mode: 'import' });
  }
  await send({ host: 'esx01', collectedAt: '2026-12-09T23:00:00Z', sourcePath: `/vmfs/devices/disks/${DEVICE}`, device: DEVICE, mode: 'import' });
  const after = ofHost(await plan(), 'esx02');
  expect(after).toEqual(before);
});

it('an older collector’s import (no mark) is judged by receipt time, and the plan warns before it goes', async () => {
  clock = IMPORTED_AT;
  for (const d of BACKUP_DATES) await send({ host: 'esx03', collectedAt: `${d}T02:00:00Z`, sourcePath: '/root/vmfs-header-backup-sdc.hex' });
  // A week on, one more capture of the same source: the 19 now lie beyond "within 7d".
  clock = new Date('2026-12-09T02:00:05Z');
  await send({ host: 'esx03', collectedAt: '2026-12-09T02:00:00Z', sourcePath: '/root/vmfs-header-backup-sdc.hex' });
  const p = await plan();
  const old = ofHost(p, 'esx03').filter((c) => c.collectedAt < '2026-12-01');
  expect(old.filter((c) => c.decision === 'keep')).toHaveLength(2);
  expect(old.every((c) => !c.imported && c.time === IMPORTED_AT.toISOString())).toBe(true);
  expect(p.warnings).toContainEqual(
    expect.stringMatching(
      /^host esx03: 17 captures collected 2026-06-10T02:00:00.000Z to 2026-11-18T02:00:00.000Z, each more than a day before .* not marked as imported/,
    ),
  );
  // The dry run through the API carries the same warnings.
  const res = await catalog.request('/v1/retention/run?dry_run=true', { method: 'POST' });
  expect(res.status).toBe(200);
  const report = await res.json();
  expect(report.plan.warnings.some((w: string) => w.startsWith('host esx03: 17 captures'))).toBe(true);
});
