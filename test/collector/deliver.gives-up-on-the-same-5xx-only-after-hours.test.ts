/**
 * The rule that turns "try again later" into "never" for a 5xx (collector/deliver.ts
 * GIVE_UP): the same status other than 502/503/504 on 3 runs whose first is 6 h or more
 * before the latest, while the catalog took another capture since the first. Outages,
 * network errors and refusals never count; and the Retry-After reading the in-run
 * retries rely on.
 */
import { describe, expect, it } from 'vitest';
import { givesUp } from '../../collector/deliver.js';
import { retryAfterMs } from '../../collector/http.js';
import type { DeliveryAttempt } from '../../collector/spool.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const at = (hoursAgo: number, status: number): DeliveryAttempt => ({ at: new Date(NOW - hoursAgo * 3_600_000).toISOString(), status, error: `HTTP ${status}` });

describe('givesUp', () => {
  const delivered = NOW - 3_600_000;
  it.each<[string, DeliveryAttempt[], boolean]>([
    ['no attempts', [], false],
    ['one 500', [at(0, 500)], false],
    ['three 500s within 5 h 59 min', [at(5.98, 500), at(3, 500), at(0, 500)], false],
    ['three 500s spanning 6 h', [at(6, 500), at(3, 500), at(0, 500)], true],
    ['two 500s spanning 12 h', [at(12, 500), at(0, 500)], false],
    ['three 500s over 7 h with network errors between', [at(7, 500), at(6, 0), at(3, 500), at(1, 0), at(0, 500)], true],
    ['the latest is a network error', [at(7, 500), at(3, 500), at(1, 500), at(0, 0)], false],
    ['another 5xx the same way (507)', [at(8, 507), at(4, 507), at(0, 507)], true],
    ['different 5xx statuses do not add up', [at(8, 500), at(4, 501), at(0, 507)], false],
    ['503 for days is an outage', [at(72, 503), at(48, 503), at(24, 503), at(0, 503)], false],
    ['502 for days', [at(72, 502), at(36, 502), at(0, 502)], false],
    ['504 for days', [at(72, 504), at(36, 504), at(0, 504)], false],
    ['429 for days', [at(72, 429), at(36, 429), at(0, 429)], false],
  ])('%s → %s', (_, attempts, expected) => {
    expect(givesUp(attempts, NOW, delivered)).toBe(expected);
  });

  it('never gives up while the catalog took nothing from this spool since the first failure (it fails on everything)', () => {
    const attempts = [at(30, 500), at(20, 500), at(10, 500), at(0, 500)];
    expect(givesUp(attempts, NOW, 0)).toBe(false);
    expect(givesUp(attempts, NOW, NOW - 31 * 3_600_000)).toBe(false);
    expect(givesUp(attempts, NOW, NOW - 29 * 3_600_000)).toBe(true);
  });
});

describe('retryAfterMs', () => {
  it.each<[string | undefined, number | null]>([
    [undefined, null],
    ['', null],
    ['0', 0],
    ['120', 120_000],
    [' 5 ', 5_000],
    [new Date(NOW + 30_000).toUTCString(), 30_000],
    [new Date(NOW - 30_000).toUTCString(), 0],
    ['soon', null],
  ])('%j → %j', (header, ms) => {
    expect(retryAfterMs(header, NOW)).toBe(ms);
  });
});
