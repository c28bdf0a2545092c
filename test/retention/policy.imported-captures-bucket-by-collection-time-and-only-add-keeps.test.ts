/**
 * Imported captures (`collector import`: backups saved by old cron scripts, dated by their
 * files' modification times and received together months later) are bucketed by their
 * collection time, so the default policy thins a year of them as it would a year collected
 * live, instead of judging them all by the day they arrived and dropping all but one or two.
 * They can only add keeps: a capture collected live is decided as if nothing were imported.
 */
import { describe, expect, it } from 'vitest';
import { applyRetention, DEFAULT_POLICY, effectiveTime, type RetentionCapture } from '../../api/retention/policy.js';
import { BACKUP_DATES, IMPORTED_AT, JUDGED_AT } from './old-cron-backups.js';

function imported(imported: boolean | undefined): RetentionCapture[] {
  return BACKUP_DATES.map((d) => ({ id: `import ${d}`, collectedAt: new Date(`${d}T02:00:00Z`), receivedAt: IMPORTED_AT, imported }));
}
const live: RetentionCapture = { id: 'live 2026-12-10', collectedAt: new Date('2026-12-10T02:00:00Z'), receivedAt: new Date('2026-12-10T02:00:05Z') };
const keptIds = (r: { keep: { capture: RetentionCapture }[] }) => r.keep.map((k) => k.capture.id).sort();

describe('imported captures', () => {
  it('are bucketed by when they were collected: the newest of every month stays', () => {
    const r = applyRetention([...imported(true), live], DEFAULT_POLICY, 'UTC', JUDGED_AT);
    const kept = keptIds(r);
    for (const newestOfMonth of ['2026-06-28', '2026-07-31', '2026-08-22', '2026-09-24', '2026-10-27', '2026-11-30'])
      expect(kept).toContain(`import ${newestOfMonth}`);
    expect(kept).toContain('live 2026-12-10');
    // Weekly 2026-W49, W47, W45, W44 (W50 is the live one), monthly June to November (two of
    // them the weeklies' too), and the oldest: 9 of the 19.
    expect(kept.filter((id) => id.startsWith('import'))).toEqual(
      ['06-05', '06-28', '07-31', '08-22', '09-24', '10-27', '11-07', '11-18', '11-30'].map((d) => `import 2026-${d}`),
    );
    const nov = r.keep.find((k) => k.capture.id === 'import 2026-11-30')!;
    expect(nov.time).toEqual(new Date('2026-11-30T02:00:00Z'));
    expect(nov.reasons).toEqual(['weekly 2026-W49', 'monthly 2026-11', 'imported']);
  });

  it('unmarked (an older collector), the same captures are judged by their receipt time: two stay', () => {
    const r = applyRetention([...imported(undefined), live], DEFAULT_POLICY, 'UTC', JUDGED_AT);
    expect(keptIds(r).filter((id) => id.startsWith('import'))).toEqual(['import 2026-06-05', 'import 2026-11-30']);
    expect(r.drop.find((d) => d.capture.id === 'import 2026-06-16')!.reason).toMatch(/collector clock \d+ h behind; receipt time used/);
  });

  it('dated ahead of their receipt by more than a day, are judged by receipt time like any capture', () => {
    const ahead = { id: 'ahead', collectedAt: new Date('2031-01-01T00:00:00Z'), receivedAt: IMPORTED_AT, imported: true };
    expect(effectiveTime(ahead)).toEqual({ time: IMPORTED_AT, note: expect.stringMatching(/collector clock \d+ h ahead; receipt time used/) });
    expect(effectiveTime({ ...ahead, collectedAt: new Date('2020-01-01T00:00:00Z') }).time).toEqual(new Date('2020-01-01T00:00:00Z'));
  });

  it('never take a bucket from a capture collected live in the same series', () => {
    // Live captures every Monday for ten weeks; imports dated the Sunday after each (later in
    // the same ISO week), one more in between, and a run of them in the last days: by date
    // alone each would be its week's newest and push the Monday out.
    const mondays = Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2026, 8, 7 + 7 * i, 2)));
    const lives: RetentionCapture[] = mondays.map((t) => ({ id: `live ${t.toISOString()}`, collectedAt: t, receivedAt: t }));
    const plants: RetentionCapture[] = mondays
      .flatMap((t) => [6, 3].map((d) => new Date(t.getTime() + d * 86_400_000)))
      .map((t) => ({ id: `import ${t.toISOString()}`, collectedAt: t, receivedAt: JUDGED_AT, imported: true }));
    const now = new Date(mondays[9].getTime() + 86_400_000);
    for (const policy of [DEFAULT_POLICY, { keepWeekly: 4 }, { keepDaily: 3, keepMonthly: 2 }, { keepLast: 2 }]) {
      const alone = applyRetention(lives, policy, 'UTC', now);
      const mixed = applyRetention([...lives, ...plants], policy, 'UTC', now);
      const decided = (r: typeof alone) => [
        ...r.keep.filter((k) => !k.capture.imported).map((k) => [k.capture.id, 'keep', k.reasons.join('; ')]),
        ...r.drop.filter((d) => !d.capture.imported).map((d) => [d.capture.id, 'drop', d.reason]),
      ];
      expect(decided(mixed).sort()).toEqual(decided(alone).sort());
      // And the imports still add keeps of their own where no live capture holds the bucket.
      expect(mixed.keep.length + mixed.drop.length).toBe(lives.length + plants.length);
    }
  });
});
