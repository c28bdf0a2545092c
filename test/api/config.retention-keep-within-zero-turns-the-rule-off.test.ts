/**
 * .env.example says a retention rule set to 0 is off; RETENTION_KEEP_WITHIN=0 stopped the start
 * instead (exit 78, "a duration such as 7d"), where 0d was taken. A bare 0 is now the same as 0d:
 * the policy has no keep-within rule. A rule unset or empty is at its default, which for the
 * weekly, monthly, yearly and within rules is on (.env.example once said unset turned any off).
 */
import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../api/config.js';
import { policyFromConfig } from '../../api/retention/settings.js';

it.each(['0', '0d', '0h'])('RETENTION_KEEP_WITHIN=%s turns the rule off', (within) => {
  const config = loadConfig({ RETENTION_KEEP_WITHIN: within });
  expect(policyFromConfig(config).policy).not.toHaveProperty('keepWithin');
});

it('unset, it keeps the last 7 days', () => {
  expect(policyFromConfig(loadConfig({})).policy.keepWithin).toEqual({ years: 0, months: 0, days: 7, hours: 0 });
});

it.each(['00x', '7 days', '-1d'])('RETENTION_KEEP_WITHIN=%s is a setting error', (within) => {
  expect(() => loadConfig({ RETENTION_KEEP_WITHIN: within })).toThrow(ConfigError);
});

it.each([
  ['RETENTION_KEEP_WEEKLY', 'keepWeekly', 5],
  ['RETENTION_KEEP_MONTHLY', 'keepMonthly', 12],
  ['RETENTION_KEEP_YEARLY', 'keepYearly', 'unlimited'],
] as const)('%s unset or empty keeps its default; 0 turns it off', (variable, rule, value) => {
  expect(policyFromConfig(loadConfig({})).policy[rule]).toBe(value);
  expect(policyFromConfig(loadConfig({ [variable]: '' })).policy[rule]).toBe(value);
  expect(policyFromConfig(loadConfig({ [variable]: '0' })).policy).not.toHaveProperty(rule);
});

it('the last, hourly and daily rules are off unless set', () => {
  const { policy } = policyFromConfig(loadConfig({}));
  for (const rule of ['keepLast', 'keepHourly', 'keepDaily']) expect(policy).not.toHaveProperty(rule);
});
