/**
 * S3 Object Lock dates. When the bucket has Object Lock (S3_OBJECT_LOCK=true), every chunk
 * and manifest PUT carries a retain-until date (api/store/s3.ts): at first the shortest time
 * a fresh capture is sure to be kept (keep-within, at least a day). Each retention run then
 * extends the lock of what it keeps to the end of the longest tier keeping it: a daily
 * capture until N days after its time, a weekly one N weeks, a monthly one N months, a
 * yearly one N years; what an unlimited rule, a pin or a protection keeps (no end in sight)
 * is locked S3_OBJECT_LOCK_MAX_DAYS ahead and renewed by every run. A chunk takes the
 * latest date of the captures referencing it. Retention never deletes an object whose
 * lock has not run out: it reports it "locked until …" and tries again on a later run.
 *
 * Which servers enforce it: AWS S3 and MinIO (buckets created with object locking),
 * Ceph RGW; OpenStack Swift's s3api has no Object Lock, so it must stay off there.
 */
import type { Config } from '../config.js';
import type { RetentionPolicy } from './policy.js';

const DAY = 86_400_000;

function addCalendar(t: Date, years: number, months: number, days: number, hours: number): Date {
  const d = new Date(t.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years, d.getUTCMonth() + months, d.getUTCDate() + days);
  return new Date(d.getTime() + hours * 3_600_000);
}

/** The lock date a fresh chunk or manifest is written with. */
export function initialLockDate(config: Pick<Config, 'RETENTION_KEEP_WITHIN'>, now: Date): Date {
  const m = /^(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?$/.exec(config.RETENTION_KEEP_WITHIN ?? '');
  const within = m ? addCalendar(now, Number(m[1] ?? 0), Number(m[2] ?? 0), Number(m[3] ?? 0), Number(m[4] ?? 0)) : now;
  return new Date(Math.max(within.getTime(), now.getTime() + DAY));
}

/**
 * Until when the reasons a capture is kept for hold it: the latest end over its tiers.
 * `time` is the capture's time as the policy bucketed it.
 */
export function lockDateFor(reasons: string[], time: Date, policy: RetentionPolicy, now: Date, maxDays: number): Date {
  const open = new Date(now.getTime() + maxDays * DAY);
  let until = new Date(now.getTime() + DAY);
  const later = (d: Date) => {
    if (d.getTime() > until.getTime()) until = d;
  };
  const n = (c: RetentionPolicy['keepDaily']) => (c === 'unlimited' || c === undefined ? null : c);
  for (const r of reasons) {
    const tier = /^(?:oldest )?(hourly|daily|weekly|monthly|yearly)\b/.exec(r)?.[1];
    if (r.startsWith('within ') && policy.keepWithin) {
      const w = policy.keepWithin;
      later(addCalendar(time, w.years, w.months, w.days, w.hours));
    } else if (tier) {
      const c = n(
        { hourly: policy.keepHourly, daily: policy.keepDaily, weekly: policy.keepWeekly, monthly: policy.keepMonthly, yearly: policy.keepYearly }[
          tier as 'daily'
        ],
      );
      if (c === null) later(open);
      else if (tier === 'hourly') later(addCalendar(time, 0, 0, 0, c));
      else if (tier === 'daily') later(addCalendar(time, 0, 0, c, 0));
      else if (tier === 'weekly') later(addCalendar(time, 0, 0, 7 * c, 0));
      else if (tier === 'monthly') later(addCalendar(time, 0, c, 0, 0));
      else later(addCalendar(time, c, 0, 0, 0));
    } else {
      // last, pinned, newest good capture of …, dated after now: no end the calendar knows.
      later(open);
    }
  }
  return new Date(Math.min(until.getTime(), open.getTime()));
}
