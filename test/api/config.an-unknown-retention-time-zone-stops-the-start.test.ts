/**
 * RETENTION_TIME_ZONE is checked with the other settings at start: an unknown zone
 * (`Mars/Base`, a typo of `Europe/Berlin`) passed the start, and every retention run — the
 * CLI, POST /v1/retention/run, the scheduled pass with RETENTION_SCHEDULED — then failed with
 * "unknown time zone". A start now stops naming the variable (exit 78), as for any bad value.
 */
import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../api/config.js';

it.each(['Mars/Base', 'Europe/Berln', 'UTC+2'])('RETENTION_TIME_ZONE=%s is a setting error', (zone) => {
  let thrown: unknown;
  try {
    loadConfig({ RETENTION_TIME_ZONE: zone });
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect((thrown as ConfigError).problems).toEqual(['RETENTION_TIME_ZONE: unknown time zone; use an IANA name such as Europe/Berlin or UTC']);
});

it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'])('RETENTION_TIME_ZONE=%s is taken', (zone) => {
  expect(loadConfig({ RETENTION_TIME_ZONE: zone }).RETENTION_TIME_ZONE).toBe(zone);
});

it('defaults to UTC', () => {
  expect(loadConfig({}).RETENTION_TIME_ZONE).toBe('UTC');
});
