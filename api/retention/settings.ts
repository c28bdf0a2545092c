/** The retention policy and time zone the configuration names (RETENTION_* in .env.example). */
import type { Config } from '../config.js';
import { checkTimeZone, parseDuration, parseKeepCount, type KeepCount, type RetentionPolicy } from './policy.js';

type RetentionConfig = Pick<
  Config,
  | 'RETENTION_KEEP_LAST'
  | 'RETENTION_KEEP_HOURLY'
  | 'RETENTION_KEEP_DAILY'
  | 'RETENTION_KEEP_WEEKLY'
  | 'RETENTION_KEEP_MONTHLY'
  | 'RETENTION_KEEP_YEARLY'
  | 'RETENTION_KEEP_WITHIN'
  | 'RETENTION_TIME_ZONE'
>;

function count(v: string | undefined): KeepCount | undefined {
  if (v === undefined || v === '') return undefined;
  const c = parseKeepCount(v);
  return c === 0 ? undefined : c;
}

/** The configured policy; throws a RangeError naming a bad value. */
export function policyFromConfig(config: RetentionConfig): { policy: RetentionPolicy; timeZone: string } {
  checkTimeZone(config.RETENTION_TIME_ZONE);
  const within = config.RETENTION_KEEP_WITHIN ? parseDuration(config.RETENTION_KEEP_WITHIN) : undefined;
  const none = !within || within.years + within.months + within.days + within.hours === 0;
  const policy: RetentionPolicy = {
    keepLast: count(config.RETENTION_KEEP_LAST),
    keepHourly: count(config.RETENTION_KEEP_HOURLY),
    keepDaily: count(config.RETENTION_KEEP_DAILY),
    keepWeekly: count(config.RETENTION_KEEP_WEEKLY),
    keepMonthly: count(config.RETENTION_KEEP_MONTHLY),
    keepYearly: count(config.RETENTION_KEEP_YEARLY),
    ...(none ? {} : { keepWithin: within }),
  };
  for (const k of Object.keys(policy) as (keyof RetentionPolicy)[]) if (policy[k] === undefined) delete policy[k];
  return { policy, timeZone: config.RETENTION_TIME_ZONE };
}
