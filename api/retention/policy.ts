/**
 * GFS retention as a pure function: which captures a policy keeps, each with the
 * reasons, and which it drops. The rules follow restic's `forget` (its
 * `internal/data/snapshot_policy.go` and `doc/060_forget.rst`): captures are walked
 * newest first; each `keep-<period>` rule keeps the first capture it meets in every
 * new calendar period until its count runs out; a rule with count left when the walk
 * reaches the oldest capture keeps that one too ("oldest daily", …), so a short
 * history is kept whole. Calendar periods are taken in one configured IANA time zone,
 * weeks are ISO weeks (Monday to Sunday), so a week's newest capture — Friday's for a
 * weekday cron — is the one a weekly rule keeps.
 *
 * Two rules of our own, for a catalog fed by many collectors:
 * - A capture's time is its collection time, unless that is more than a day away from
 *   when the catalog received it: then the receipt time is used, so a collector with a
 *   wrong clock (or a hostile one planting captures dated years ahead) cannot push real
 *   captures out of their buckets. `keep-within` counts back from the newest capture
 *   that is not after `now`; a capture dated after `now` (a clock up to a day ahead)
 *   is kept until it can be judged, as restic does.
 * - An imported capture (`collector import`: backups saved before the collector existed,
 *   dated by their files' modification times, on purpose months before they arrive) is
 *   bucketed by its collection time however far that lies before its receipt (after it by
 *   more than a day: receipt time, as above). It can only add keeps, never take a bucket
 *   from a capture collected live: the live captures of a series are decided by the rules
 *   run on them alone, exactly as if nothing had been imported, and the imported ones by
 *   the rules run on the whole series, where a live capture still holds its bucket. A
 *   series is one host's (gather.ts), so a host's imports never touch another host's.
 * - Pinned captures and captures the caller protects (the newest good capture of a
 *   volume, extent or LU) are always kept, with that reason; they still take their
 *   place in the period buckets like any other capture.
 */

/** A count per rule: a number ≥ 0, or 'unlimited'. */
export type KeepCount = number | 'unlimited';

export interface RetentionPolicy {
  keepLast?: KeepCount;
  keepHourly?: KeepCount;
  keepDaily?: KeepCount;
  keepWeekly?: KeepCount;
  keepMonthly?: KeepCount;
  keepYearly?: KeepCount;
  /** Keep everything newer than this, counted back from the newest capture (e.g. `7d`, `1y6m`, `36h`). */
  keepWithin?: RetentionDuration;
}

/** restic's duration: years, months, days and hours, applied on the calendar. */
export interface RetentionDuration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/**
 * The default mirrors the storage admins' daily rollup the catalog replaces: everything of
 * the last 7 days, the newest capture of each of the last 5 weeks, of each of the last 12
 * months, and of every year.
 */
export const DEFAULT_POLICY: RetentionPolicy = {
  keepWithin: { years: 0, months: 0, days: 7, hours: 0 },
  keepWeekly: 5,
  keepMonthly: 12,
  keepYearly: 'unlimited',
};

/** One capture as retention sees it. */
export interface RetentionCapture {
  id: string;
  collectedAt: Date;
  receivedAt: Date;
  /** The note given when the capture was pinned; null or absent when not pinned. */
  pinnedNote?: string | null;
  /** Reasons the caller must keep it whatever the policy says, e.g. "newest good capture of volume …". */
  protectedBy?: string[];
  /** Sent by `collector import` (the collection time is the saved files' modification time). */
  imported?: boolean;
}

export interface Kept<C> {
  capture: C;
  /** The time the rules bucketed (collection time, or receipt time when the clock was off). */
  time: Date;
  reasons: string[];
}

export interface Dropped<C> {
  capture: C;
  time: Date;
  reason: string;
}

export interface RetentionResult<C> {
  keep: Kept<C>[];
  drop: Dropped<C>[];
}

/** A collector clock further than this from the catalog's receipt time is not trusted. */
export const CLOCK_SKEW_LIMIT_MS = 24 * 3600 * 1000;

type Period = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const PERIODS: { period: Period; key: keyof RetentionPolicy }[] = [
  { period: 'last', key: 'keepLast' },
  { period: 'hourly', key: 'keepHourly' },
  { period: 'daily', key: 'keepDaily' },
  { period: 'weekly', key: 'keepWeekly' },
  { period: 'monthly', key: 'keepMonthly' },
  { period: 'yearly', key: 'keepYearly' },
];

/** The wall-clock fields of an instant in a time zone. */
interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a RangeError naming the zone when it is not an IANA time zone this runtime knows. */
export function checkTimeZone(timeZone: string): void {
  try {
    formatterFor(timeZone);
  } catch {
    throw new RangeError(`unknown time zone: ${timeZone} (use an IANA name such as Europe/Berlin or UTC)`);
  }
}

function wallTime(t: Date, timeZone: string): Wall {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(t)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second };
}

/** ISO 8601 week-numbering year and week of a calendar date. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7; // Monday 1 … Sunday 7
  // The Thursday of this week decides the week's year.
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const weekYear = date.getUTCFullYear();
  const jan1 = Date.UTC(weekYear, 0, 1);
  return { year: weekYear, week: Math.floor((date.getTime() - jan1) / 86_400_000 / 7) + 1 };
}

/** Two digits, as ISO 8601 writes a month, day, hour or week. */
const two = (n: number) => String(n).padStart(2, '0');

/**
 * A capture's bucket of a period, written as ISO 8601 writes it (`2026-08`, `2026-08-05`,
 * `2026-08-05T07`, `2026-W05`), so a reason reads as a date and sorts as one. Object Lock
 * (object-lock.ts lockDateFor) reads only the tier word, so reasons written before the
 * padding (`monthly 2026-8`) read the same.
 */
function bucketOf(period: Period, w: Wall, index: number): string {
  switch (period) {
    case 'last':
      return `#${index}`;
    case 'hourly':
      return `${w.year}-${two(w.month)}-${two(w.day)}T${two(w.hour)}`;
    case 'daily':
      return `${w.year}-${two(w.month)}-${two(w.day)}`;
    case 'weekly': {
      const iw = isoWeek(w.year, w.month, w.day);
      return `${iw.year}-W${two(iw.week)}`;
    }
    case 'monthly':
      return `${w.year}-${two(w.month)}`;
    case 'yearly':
      return `${w.year}`;
  }
}

/** Offset (ms) of a zone from UTC at an instant. */
function zoneOffset(t: number, timeZone: string): number {
  const w = wallTime(new Date(t), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
}

/**
 * `from` minus a duration on the calendar of the zone (restic: AddDate, then hours), so
 * `7d` before noon is noon seven days earlier even across a DST change.
 */
export function subtractDuration(from: Date, d: RetentionDuration, timeZone: string): Date {
  const w = wallTime(from, timeZone);
  const ms = from.getTime() % 1000;
  const wallUtc = Date.UTC(w.year - d.years, w.month - 1 - d.months, w.day - d.days, w.hour, w.minute, w.second, ms);
  // Wall time back to an instant: take the offset at the guess, then once more at the result.
  let t = wallUtc - zoneOffset(wallUtc, timeZone);
  t = wallUtc - zoneOffset(t, timeZone);
  return new Date(t - d.hours * 3_600_000);
}

/** Parses restic's duration syntax: `1y5m7d2h`, any subset in that order (`7d`, `36h`, `2y`). */
export function parseDuration(text: string): RetentionDuration {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(text.trim());
  if (!m || text.trim() === '') throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. 7d, 36h, 1y6m)`);
  return { years: Number(m[1] ?? 0), months: Number(m[2] ?? 0), days: Number(m[3] ?? 0), hours: Number(m[4] ?? 0) };
}

/** A duration as restic prints it: `1y6m`, `7d`, `0h` for none. */
export function formatDuration(d: RetentionDuration): string {
  const s = `${d.years ? `${d.years}y` : ''}${d.months ? `${d.months}m` : ''}${d.days ? `${d.days}d` : ''}${d.hours ? `${d.hours}h` : ''}`;
  return s || '0h';
}

/** Parses a rule count: a non-negative integer or `unlimited`. */
export function parseKeepCount(text: string): KeepCount {
  if (text.trim() === 'unlimited') return 'unlimited';
  if (!/^\d+$/.test(text.trim())) throw new RangeError(`not a count: ${JSON.stringify(text)} (use a number or unlimited)`);
  return Number(text.trim());
}

/** The policy in words, for dry-run output: "keep within 7d, 5 weekly, 12 monthly, all yearly". */
export function describePolicy(p: RetentionPolicy): string {
  const parts: string[] = [];
  if (p.keepWithin) parts.push(`within ${formatDuration(p.keepWithin)}`);
  for (const { period, key } of PERIODS) {
    const c = p[key] as KeepCount | undefined;
    if (c === 'unlimited') parts.push(`all ${period}`);
    else if (c) parts.push(`${c} ${period}`);
  }
  return parts.length ? `keep ${parts.join(', ')}` : 'keep nothing but pinned and protected captures';
}

/**
 * The time the rules use for a capture: collection time, unless the collector's clock was off by
 * more than a day — for an imported capture, only ahead: its files are meant to be older.
 */
export function effectiveTime(c: RetentionCapture): { time: Date; note: string | null } {
  const skew = c.collectedAt.getTime() - c.receivedAt.getTime();
  if (Number.isNaN(skew)) return { time: c.receivedAt, note: 'collection time unreadable; receipt time used' };
  if (Math.abs(skew) <= CLOCK_SKEW_LIMIT_MS || (c.imported && skew < 0)) return { time: c.collectedAt, note: c.imported ? 'imported' : null };
  const hours = Math.round(Math.abs(skew) / 3_600_000);
  return { time: c.receivedAt, note: `collector clock ${hours} h ${skew > 0 ? 'ahead' : 'behind'}; receipt time used` };
}

/**
 * Applies a policy to the captures of one group (one host and artifact source).
 * Deterministic: ties in time are broken by capture id, newest (greatest) first.
 * Imported captures only add keeps (see above): the others are decided without them.
 */
export function applyRetention<C extends RetentionCapture>(captures: readonly C[], policy: RetentionPolicy, timeZone: string, now: Date): RetentionResult<C> {
  checkTimeZone(timeZone);
  if (!captures.some((c) => c.imported)) return applyRules(captures, policy, timeZone, now);
  const live = applyRules(
    captures.filter((c) => !c.imported),
    policy,
    timeZone,
    now,
  );
  const whole = applyRules(captures, policy, timeZone, now);
  const imported = <T extends { capture: C }>(list: T[]) => list.filter((x) => x.capture.imported);
  return { keep: [...live.keep, ...imported(whole.keep)].sort(newestFirst), drop: [...live.drop, ...imported(whole.drop)].sort(newestFirst) };
}

/** Newest first; ties in time by capture id, greatest first. */
function newestFirst(a: { capture: RetentionCapture; time: Date }, b: { capture: RetentionCapture; time: Date }): number {
  return b.time.getTime() - a.time.getTime() || (a.capture.id < b.capture.id ? 1 : a.capture.id > b.capture.id ? -1 : 0);
}

/** The rules on one list of captures, newest first. */
function applyRules<C extends RetentionCapture>(captures: readonly C[], policy: RetentionPolicy, timeZone: string, now: Date): RetentionResult<C> {
  const items = captures.map((capture) => ({ capture, ...effectiveTime(capture) }));
  items.sort(newestFirst);

  const rules = PERIODS.map(({ period, key }) => ({ period, left: policy[key] as KeepCount | undefined, last: null as string | null })).filter(
    (r) => r.left === 'unlimited' || (typeof r.left === 'number' && r.left > 0),
  );
  // keep-within counts back from the newest capture that is not in the future (restic: findLatestTimestamp).
  const past = items.filter((i) => i.time.getTime() <= now.getTime());
  const newest = past.length ? past[0].time : null;
  const withinFrom = policy.keepWithin && newest ? subtractDuration(newest, policy.keepWithin, timeZone) : null;

  const result: RetentionResult<C> = { keep: [], drop: [] };
  items.forEach((item, index) => {
    const reasons: string[] = [];
    if (item.capture.pinnedNote != null) reasons.push(`pinned: ${item.capture.pinnedNote}`);
    for (const p of item.capture.protectedBy ?? []) reasons.push(p);
    // restic never removes what is dated after the run: it cannot yet be judged.
    if (item.time.getTime() > now.getTime()) reasons.push('dated after now');
    else if (withinFrom && item.time.getTime() > withinFrom.getTime()) reasons.push(`within ${formatDuration(policy.keepWithin!)}`);
    const wall = wallTime(item.time, timeZone);
    const oldest = index === items.length - 1;
    for (const rule of rules) {
      if (rule.left !== 'unlimited' && (rule.left as number) <= 0) continue;
      const bucket = bucketOf(rule.period, wall, index);
      if (bucket === rule.last && !oldest) continue;
      reasons.push(bucket === rule.last ? `oldest ${rule.period}` : rule.period === 'last' ? 'last' : `${rule.period} ${bucket}`);
      rule.last = bucket;
      if (rule.left !== 'unlimited') rule.left = (rule.left as number) - 1;
    }
    if (item.note && reasons.length) reasons.push(item.note);
    if (reasons.length) result.keep.push({ capture: item.capture, time: item.time, reasons });
    else result.drop.push({ capture: item.capture, time: item.time, reason: item.note ? `no rule keeps it (${item.note})` : 'no rule keeps it' });
  });
  return result;
}
