/**
 * GFS retention as a pure function (api/retention/policy.ts), table-driven.
 * Where a case comes from restic, the source is restic's `doc/060_forget.rst`
 * ("Removing snapshots according to a policy") and `internal/data/snapshot_policy.go`;
 * ISO week numbers follow ISO 8601 (weeks start on Monday; week 1 holds the year's
 * first Thursday), as Go's `time.ISOWeek` and Python's `date.isocalendar()` compute them.
 */
import { describe, expect, it } from 'vitest';
import {
  applyRetention,
  DEFAULT_POLICY,
  describePolicy,
  effectiveTime,
  isoWeek,
  parseDuration,
  parseKeepCount,
  subtractDuration,
  type RetentionCapture,
  type RetentionPolicy,
} from '../../api/retention/policy.js';

function cap(id: string, iso: string, extra: Partial<RetentionCapture> = {}): RetentionCapture {
  const t = new Date(iso);
  return { id, collectedAt: t, receivedAt: t, ...extra };
}

const ids = (xs: { capture: RetentionCapture }[]) => xs.map((x) => x.capture.id).sort();

/** One capture a day at 12:00 UTC from `from` to `to` inclusive, ids = the date. */
function daily(from: string, to: string): RetentionCapture[] {
  const out: RetentionCapture[] = [];
  for (let t = Date.parse(`${from}T12:00:00Z`); t <= Date.parse(`${to}T12:00:00Z`); t += 86_400_000) {
    const d = new Date(t).toISOString().slice(0, 10);
    out.push(cap(d, `${d}T12:00:00Z`));
  }
  return out;
}

describe('restic documented cases', () => {
  // doc/060_forget.rst: one backup every Sunday for 12 weeks; `forget --keep-daily 4`
  // keeps the last four Sundays and removes the other eight.
  const sundays = [
    '2019-09-01',
    '2019-09-08',
    '2019-09-15',
    '2019-09-22',
    '2019-09-29',
    '2019-10-06',
    '2019-10-13',
    '2019-10-20',
    '2019-10-27',
    '2019-11-03',
    '2019-11-10',
    '2019-11-17',
  ].map((d) => cap(d, `${d}T11:00:00Z`));

  it('keep-daily 4 on twelve Sundays keeps the last four', () => {
    const r = applyRetention(sundays, { keepDaily: 4 }, 'UTC', new Date('2019-11-18T00:00:00Z'));
    expect(ids(r.keep)).toEqual(['2019-10-27', '2019-11-03', '2019-11-10', '2019-11-17']);
    expect(r.drop).toHaveLength(8);
    for (const k of r.keep) expect(k.reasons).toEqual([`daily ${k.capture.id}`]);
    expect(r.drop.every((d) => d.reason === 'no rule keeps it')).toBe(true);
  });

  it('writes each bucket as ISO 8601 does, months, days, hours and weeks in two digits', () => {
    const one = [cap('a', '2026-08-05T07:00:00Z')];
    const now = new Date('2026-08-06T00:00:00Z');
    expect(applyRetention(one, { keepHourly: 1, keepDaily: 1, keepWeekly: 1, keepMonthly: 1, keepYearly: 1 }, 'UTC', now).keep[0].reasons).toEqual([
      'hourly 2026-08-05T07',
      'daily 2026-08-05',
      'weekly 2026-W32',
      'monthly 2026-08',
      'yearly 2026',
    ]);
    expect(applyRetention([cap('b', '2026-01-02T00:00:00Z')], { keepWeekly: 1 }, 'UTC', now).keep[0].reasons).toEqual(['weekly 2026-W01']);
  });

  it('a rule with count left at the oldest capture keeps the oldest too', () => {
    // snapshot_policy.go: "also keep the oldest snapshot if the bucket has some counts left".
    const r = applyRetention(sundays, { keepMonthly: 5 }, 'UTC', new Date('2019-11-18T00:00:00Z'));
    // Three months have captures (Sep, Oct, Nov): their newest, then the oldest capture for the count left.
    expect(ids(r.keep)).toEqual(['2019-09-01', '2019-09-29', '2019-10-27', '2019-11-17']);
    expect(r.keep.find((k) => k.capture.id === '2019-09-01')!.reasons).toEqual(['oldest monthly']);
  });

  it('keep-daily 7, weekly 5, monthly 12, yearly 75 over years of daily captures keeps the documented tiers', () => {
    // doc/060_forget.rst: "the most recent 7 daily snapshots and 4 last-day-of-the-week ones (since the
    // 7 dailies already include 1 weekly)", then 12 or 11 month-ends and the year-ends.
    const all = daily('2022-01-01', '2026-11-26'); // 2026-11-26 is a Thursday
    const policy: RetentionPolicy = { keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 75 };
    const r = applyRetention(all, policy, 'UTC', new Date('2026-11-27T00:00:00Z'));
    const withReason = (p: string) =>
      r.keep
        .filter((k) => k.reasons.some((x) => x.startsWith(p)))
        .map((k) => k.capture.id)
        .sort();
    expect(withReason('daily ')).toEqual(['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26']);
    // ISO weeks end on Sunday: the current week's newest, then the four Sundays before it.
    expect(withReason('weekly ')).toEqual(['2026-11-01', '2026-11-08', '2026-11-15', '2026-11-22', '2026-11-26']);
    expect(withReason('monthly ')).toEqual([
      '2025-12-31',
      '2026-01-31',
      '2026-02-28',
      '2026-03-31',
      '2026-04-30',
      '2026-05-31',
      '2026-06-30',
      '2026-07-31',
      '2026-08-31',
      '2026-09-30',
      '2026-10-31',
      '2026-11-26',
    ]);
    expect(withReason('yearly ')).toEqual(['2022-12-31', '2023-12-31', '2024-12-31', '2025-12-31', '2026-11-26']);
    expect(withReason('oldest yearly')).toEqual(['2022-01-01']);
    // Here the 7 dailies (Fri … Thu) hold two weekly ones (this week's newest and last Sunday):
    // 7 daily + 3 more weekly + 11 more monthly + 3 more year-ends (2025-12-31 is a month-end too) + the oldest.
    expect(r.keep).toHaveLength(7 + 3 + 11 + 3 + 1);
    expect(r.keep.length + r.drop.length).toBe(all.length);
  });
});

describe('calendar periods in the configured time zone', () => {
  it('ISO week numbers at year boundaries', () => {
    const table: [number, number, number, number, number][] = [
      // [y, m, d, iso year, iso week] — 2020 has 53 ISO weeks (a leap year starting on a Wednesday).
      [2020, 12, 31, 2020, 53],
      [2021, 1, 1, 2020, 53],
      [2021, 1, 3, 2020, 53],
      [2021, 1, 4, 2021, 1],
      [2018, 12, 31, 2019, 1],
      [2026, 1, 1, 2026, 1],
      [2026, 12, 31, 2026, 53],
      [2027, 1, 3, 2026, 53],
      [2027, 1, 4, 2027, 1],
    ];
    for (const [y, m, d, wy, w] of table) expect(isoWeek(y, m, d), `${y}-${m}-${d}`).toEqual({ year: wy, week: w });
  });

  it('the ISO week that spans New Year is one weekly bucket', () => {
    const caps = [
      cap('thu', '2020-12-31T12:00:00Z'),
      cap('fri', '2021-01-01T12:00:00Z'),
      cap('sun', '2021-01-03T12:00:00Z'),
      cap('mon', '2021-01-04T12:00:00Z'),
    ];
    const r = applyRetention(caps, { keepWeekly: 2 }, 'UTC', new Date('2021-01-05T00:00:00Z'));
    expect(ids(r.keep)).toEqual(['mon', 'sun']);
    expect(r.keep.find((k) => k.capture.id === 'sun')!.reasons).toEqual(['weekly 2020-W53']);
    // A yearly rule splits the same four captures by calendar year instead.
    const y = applyRetention(caps, { keepYearly: 2 }, 'UTC', new Date('2021-01-05T00:00:00Z'));
    expect(ids(y.keep)).toEqual(['mon', 'thu']);
  });

  it("a day is the zone's day: 23:30 UTC is the next day in Berlin", () => {
    const caps = [cap('a', '2026-03-01T20:00:00Z'), cap('b', '2026-03-01T23:30:00Z')];
    const utc = applyRetention(caps, { keepDaily: 5 }, 'UTC', new Date('2026-03-03T00:00:00Z'));
    const berlin = applyRetention(caps, { keepDaily: 5 }, 'Europe/Berlin', new Date('2026-03-03T00:00:00Z'));
    expect(utc.keep.find((k) => k.capture.id === 'a')!.reasons).toEqual(['oldest daily']);
    expect(berlin.keep.find((k) => k.capture.id === 'a')!.reasons).toEqual(['daily 2026-03-01']);
    expect(berlin.keep.find((k) => k.capture.id === 'b')!.reasons).toEqual(['daily 2026-03-02']);
  });

  it('at the autumn DST change the repeated local hour is one hourly bucket', () => {
    // America/New_York, 2026-11-01: 01:00–02:00 happens twice (EDT, then EST).
    const caps = [cap('00:30 EDT', '2026-11-01T04:30:00Z'), cap('01:30 EDT', '2026-11-01T05:30:00Z'), cap('01:30 EST', '2026-11-01T06:30:00Z')];
    const ny = applyRetention(caps, { keepHourly: 2 }, 'America/New_York', new Date('2026-11-02T00:00:00Z'));
    expect(ids(ny.keep)).toEqual(['00:30 EDT', '01:30 EST']);
    const utc = applyRetention(caps, { keepHourly: 2 }, 'UTC', new Date('2026-11-02T00:00:00Z'));
    expect(ids(utc.keep)).toEqual(['01:30 EDT', '01:30 EST']);
  });

  it('keep-within counts calendar days in the zone across a DST change', () => {
    // 2026-11-03 12:00 EST minus 7d is 2026-10-27 12:00 EDT: 7 × 24 h + 1 h earlier.
    const from = new Date('2026-11-03T17:00:00Z');
    expect(subtractDuration(from, parseDuration('7d'), 'America/New_York').toISOString()).toBe('2026-10-27T16:00:00.000Z');
    expect(subtractDuration(from, parseDuration('7d'), 'UTC').toISOString()).toBe('2026-10-27T17:00:00.000Z');
    expect(subtractDuration(from, parseDuration('1m2h'), 'UTC').toISOString()).toBe('2026-10-03T15:00:00.000Z');
  });

  it('refuses a time zone it does not know', () => {
    expect(() => applyRetention([], {}, 'Mars/Olympus', new Date())).toThrow(/unknown time zone: Mars\/Olympus/);
  });
});

describe('what is always kept', () => {
  it('pinned and protected captures are kept with their note whatever the rules say', () => {
    const caps = [
      cap('new', '2026-11-20T12:00:00Z'),
      cap('pinned', '2026-01-10T12:00:00Z', { pinnedNote: 'before the array firmware upgrade' }),
      cap('protected', '2025-06-01T12:00:00Z', { protectedBy: ['newest good capture of volume 5a1c3e7f-2b4d6e80-91a2-0050569a1b2c'] }),
      cap('old', '2025-05-01T12:00:00Z'),
    ];
    const r = applyRetention(caps, { keepLast: 1 }, 'UTC', new Date('2026-11-21T00:00:00Z'));
    expect(ids(r.keep)).toEqual(['new', 'pinned', 'protected']);
    expect(r.keep.find((k) => k.capture.id === 'pinned')!.reasons).toEqual(['pinned: before the array firmware upgrade']);
    expect(r.keep.find((k) => k.capture.id === 'protected')!.reasons[0]).toMatch(/^newest good capture of volume/);
    expect(r.drop.map((d) => d.capture.id)).toEqual(['old']);
  });

  it('an empty policy drops everything that is not pinned or protected', () => {
    const r = applyRetention(daily('2026-11-01', '2026-11-05'), {}, 'UTC', new Date('2026-11-06T00:00:00Z'));
    expect(r.keep).toEqual([]);
    expect(r.drop).toHaveLength(5);
  });
});

describe('collector clocks', () => {
  const now = new Date('2026-11-29T12:00:00Z');

  it('a capture dated years ahead is bucketed at its receipt time', () => {
    const c = cap('rogue', '2031-01-01T00:00:00Z', { receivedAt: new Date('2026-11-29T10:00:00Z') });
    expect(effectiveTime(c)).toEqual({ time: new Date('2026-11-29T10:00:00Z'), note: expect.stringMatching(/collector clock \d+ h ahead; receipt time used/) });
    const ok = cap('ok', '2026-11-29T09:00:00Z', { receivedAt: new Date('2026-11-29T10:00:00Z') });
    expect(effectiveTime(ok).note).toBeNull();
  });

  it('planted future captures cannot push real weekly captures out', () => {
    // Five real Sunday captures, then an attacker plants five captures dated one per future week,
    // all received today: they share today's buckets, so the real weeks stay kept.
    const real = ['2026-10-25', '2026-11-01', '2026-11-08', '2026-11-15', '2026-11-22'].map((d) => cap(`real ${d}`, `${d}T12:00:00Z`));
    const planted = [1, 2, 3, 4, 5].map((w) =>
      cap(`planted ${w}`, new Date(now.getTime() + w * 7 * 86_400_000).toISOString(), { receivedAt: new Date(now.getTime() - w * 60_000) }),
    );
    const r = applyRetention([...real, ...planted], { keepWeekly: 6 }, 'UTC', now);
    for (const c of real) expect(ids(r.keep)).toContain(c.id);
    expect(r.keep.filter((k) => k.capture.id.startsWith('planted'))).toHaveLength(1);
  });

  it('a capture up to a day ahead of now is kept until it can be judged', () => {
    const r = applyRetention([cap('ahead', '2026-11-29T20:00:00Z', { receivedAt: now }), cap('past', '2026-11-20T12:00:00Z')], { keepLast: 0 }, 'UTC', now);
    expect(r.keep.map((k) => [k.capture.id, k.reasons])).toEqual([['ahead', ['dated after now']]]);
  });
});

describe('the default policy', () => {
  it('keeps a year of daily captures as the rollup did: 7 days, 5 weeks, 12 months, every year', () => {
    const all = daily('2025-11-01', '2026-11-28');
    const r = applyRetention(all, DEFAULT_POLICY, 'UTC', new Date('2026-11-28T18:00:00Z'));
    const kept = ids(r.keep);
    // within 7d of the newest (2026-11-28 12:00): 11-22 … 11-28 (11-21 12:00 is exactly 7 days back, not after it).
    for (const d of ['2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28']) expect(kept).toContain(d);
    expect(kept).not.toContain('2026-11-21');
    // Sundays of the previous ISO weeks, and month-ends.
    for (const d of ['2026-11-01', '2026-11-08', '2026-11-15', '2026-10-31', '2026-09-30', '2025-12-31']) expect(kept).toContain(d);
    // Twelve months are this one and the eleven before (Dec 2025 … Oct 2026), so November 2025's end goes;
    // the unlimited yearly rule still has count at the oldest capture and keeps it.
    expect(kept).not.toContain('2025-11-30');
    expect(r.keep.find((k) => k.capture.id === '2025-11-01')!.reasons).toEqual(['oldest yearly']);
    expect(describePolicy(DEFAULT_POLICY)).toBe('keep within 7d, 5 weekly, 12 monthly, all yearly');
    expect(r.drop.every((d) => !kept.includes(d.capture.id))).toBe(true);
    expect(r.keep.length + r.drop.length).toBe(all.length);
  });
});

describe('policy text', () => {
  it('parses restic durations and counts, and refuses anything else', () => {
    expect(parseDuration('1y5m7d2h')).toEqual({ years: 1, months: 5, days: 7, hours: 2 });
    expect(parseDuration('36h')).toEqual({ years: 0, months: 0, days: 0, hours: 36 });
    for (const bad of ['', '7', '1w', 'd7', '-1d', '7d 2h']) expect(() => parseDuration(bad), bad).toThrow(/not a duration/);
    expect(parseKeepCount('unlimited')).toBe('unlimited');
    expect(parseKeepCount('12')).toBe(12);
    for (const bad of ['-1', '1.5', 'all', '']) expect(() => parseKeepCount(bad), bad).toThrow(/not a count/);
  });
});
