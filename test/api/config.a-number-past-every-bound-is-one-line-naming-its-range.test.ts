/**
 * A whole-number setting far past its range (PORT=99999999999999999999, a digit too many in an
 * env file) stops the start with one line naming the setting's own range: it said two, zod's
 * bound of a whole number first ('expected int to be <=9007199254740991'), the range second, as
 * if each were a variable of its own. Through the real server too: one line, exit 78.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../api/config.js';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const RANGES: Array<[string, number]> = [
  ['PORT', 65535],
  ['DATABASE_CONNECT_TIMEOUT', 600],
  ['DATABASE_LOCK_WAIT', 3600],
  ['DATABASE_POOL_MAX', 100],
  ['DATABASE_STATEMENT_TIMEOUT_MS', 86400000],
  ['S3_MAX_ATTEMPTS', 10],
  ['S3_TIMEOUT_MS', 600000],
  ['SERVER_PROCESSES', 64],
];

it.each(RANGES)('%s=99999999999999999999 is one problem naming its range', (name, max) => {
  let thrown: unknown;
  try {
    loadConfig({ [name]: '99999999999999999999' });
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect((thrown as ConfigError).problems).toEqual([`${name}: Too big: expected number to be <=${max}`]);
});

it('two bad settings are a line each', () => {
  let thrown: unknown;
  try {
    loadConfig({ PORT: '99999999999999999999', S3_MAX_ATTEMPTS: 'x' });
  } catch (e) {
    thrown = e;
  }
  expect((thrown as ConfigError).problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'S3_MAX_ATTEMPTS']);
});

/**
 * Settings that had no upper bound at all: a retention count of 99999999999999999999999 was taken
 * and printed back as '1e+23 daily', a RETENTION_KEEP_WITHIN of 300000y made every retention run
 * with a capture fail ('Invalid time value'), STALE_AFTER_HOURS=1e308 passed, and
 * COMMIT_INLINE_MAX_BYTES said only zod's bound of a whole number. Each now has a range of its own.
 */
it.each([
  ['RETENTION_KEEP_LAST', '99999999999999999999999', 'a number from 0 to 1000000, or unlimited'],
  ['RETENTION_KEEP_HOURLY', '1000001', 'a number from 0 to 1000000, or unlimited'],
  ['RETENTION_KEEP_DAILY', '99999999999999999999999', 'a number from 0 to 1000000, or unlimited'],
  ['RETENTION_KEEP_WEEKLY', '99999999999999999999999', 'a number from 0 to 1000000, or unlimited'],
  ['RETENTION_KEEP_MONTHLY', '99999999999999999999999', 'a number from 0 to 1000000, or unlimited'],
  ['RETENTION_KEEP_YEARLY', '99999999999999999999999', 'a number from 0 to 1000000, or unlimited'],
  ['RETENTION_KEEP_WITHIN', '300000y', 'at most 100 years (100y, 1200m, 36600d or 878400h)'],
  ['RETENTION_KEEP_WITHIN', '99y13m', 'at most 100 years (100y, 1200m, 36600d or 878400h)'],
  ['STALE_AFTER_HOURS', '1e308', 'Too big: expected number to be <=87600'],
  ['REPLICATION_PERIOD_HOURS', '99999999999999999999', 'Too big: expected number to be <=87600'],
  ['COMMIT_INLINE_MAX_BYTES', '99999999999999999999', 'Too big: expected number to be <=1099511627776'],
])('%s=%s is one problem naming its range', (name, value, said) => {
  expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  try {
    loadConfig({ [name]: value });
  } catch (e) {
    expect((e as ConfigError).problems).toEqual([`${name}: ${said}`]);
  }
});

it.each([
  ['RETENTION_KEEP_DAILY', '1000000'],
  ['RETENTION_KEEP_YEARLY', 'unlimited'],
  ['RETENTION_KEEP_WITHIN', '100y'],
  ['RETENTION_KEEP_WITHIN', '1y6m'],
  ['STALE_AFTER_HOURS', '87600'],
])('%s=%s, at its bound or under, is taken', (name, value) => {
  expect(() => loadConfig({ [name]: value })).not.toThrow();
});

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-config-range-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('the server says it in one line, exit 78', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [SERVER_BUNDLE], {
    cwd: ROOT,
    env: serverEnv({ DATA_DIR: dataDir, PORT: '99999999999999999999' }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect([r.status, r.stderr]).toEqual([78, 'catalog: invalid configuration: PORT: Too big: expected number to be <=65535\n']);
});

it('the admin CLI says a retention count past its bound in one line, exit 78', { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), 'retention', '--dry-run'], {
    cwd: ROOT,
    env: serverEnv({ DATA_DIR: dataDir, RETENTION_KEEP_DAILY: '99999999999999999999999' }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect([r.status, r.stderr]).toEqual([78, 'catalog: invalid configuration: RETENTION_KEEP_DAILY: a number from 0 to 1000000, or unlimited\n']);
});
