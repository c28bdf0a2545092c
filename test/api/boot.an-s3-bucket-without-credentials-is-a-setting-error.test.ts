/**
 * S3_BUCKET set with no credentials anywhere (no AWS_ACCESS_KEY_ID, no profile, no role: a
 * systemd env file that names the bucket but not the keys) stopped the start with the SDK's
 * 'catalog: cannot start: Could not load credentials from any providers', exit 1, after a JSON
 * warning — and under systemd (Restart=on-failure, RestartPreventExitStatus=64 78) a start again
 * every 5 s for ever. It is a setting error like a bucket that is not there: one line naming
 * S3_BUCKET, the bucket, the endpoint and the variables to set, exit 78; the admin CLI the same.
 * No request reaches the store without credentials, so no S3 server is needed: the endpoint is a
 * loopback port where nothing listens.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vrc-boot-creds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const endpoint = 'http://127.0.0.1:9';
const run = (bundle: string, args: string[], name: string) => {
  const env = serverEnv({
    DATA_DIR: join(dir, name),
    PORT: '0',
    S3_BUCKET: 'vrc-catalog',
    S3_ENDPOINT: endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_MAX_ATTEMPTS: '1',
    // No profile file to fall back on either.
    HOME: dir,
  });
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') && k !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') delete env[k];
  return spawnSync(process.execPath, [bundle, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
};
const line = `catalog: invalid configuration: S3_BUCKET: no credentials for bucket "vrc-catalog" at ${endpoint} (Could not load credentials from any providers): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run where a role gives them\n`;

it('npm start: that one line, exit 78', { timeout: 90_000 }, () => {
  const r = run(SERVER_BUNDLE, [], 'server');
  expect([r.status, r.stderr]).toEqual([78, line]);
});

it('npm run catalog -- check: the same line, exit 78; --json says invalid_setting', { timeout: 90_000 }, () => {
  const r = run(join(ROOT, 'dist/catalog.mjs'), ['check'], 'cli');
  expect([r.status, r.stderr]).toEqual([78, line]);
  const j = run(join(ROOT, 'dist/catalog.mjs'), ['check', '--json'], 'cli-json');
  expect(j.status).toBe(78);
  expect(JSON.parse(j.stdout).error.code).toBe('invalid_setting');
});
