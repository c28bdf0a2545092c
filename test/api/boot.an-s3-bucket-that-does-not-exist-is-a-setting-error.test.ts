/**
 * An S3_BUCKET that names no bucket at S3_ENDPOINT (a typo, a bucket not made yet) stopped the
 * start with `catalog: cannot start: The specified bucket does not exist.` and exit 1 — no
 * bucket, no endpoint named, and under systemd (Restart=on-failure, RestartPreventExitStatus=64
 * 78) a start again every 5 s for ever. Now it is a setting error as any other: one line naming
 * S3_BUCKET, the bucket and the endpoint, exit 78; `npm run catalog -- check` the same
 * (`invalid_setting` under --json).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';
import { s3TestConfig, S3_UNAVAILABLE_REASON } from '../helpers/swift.js';
import { reportMissingService } from '../helpers/catalog.js';

const s3 = s3TestConfig();
if (!s3) reportMissingService('[boot: a missing bucket] not run', S3_UNAVAILABLE_REASON);
const dir = mkdtempSync(join(tmpdir(), 'vrc-boot-bucket-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!s3)('S3_BUCKET naming no bucket', () => {
  const bucket = `vrc-no-such-bucket-${Date.now().toString(36)}`;
  const run = (bundle: string, args: string[], name: string) =>
    spawnSync(process.execPath, [bundle, ...args], {
      env: serverEnv({
        DATA_DIR: join(dir, name),
        PORT: '0',
        S3_BUCKET: bucket,
        S3_ENDPOINT: s3!.endpoint,
        S3_REGION: s3!.region,
        S3_FORCE_PATH_STYLE: 'true',
        S3_MAX_ATTEMPTS: '1',
      }),
      encoding: 'utf8',
      timeout: 60_000,
    });
  const line = `catalog: invalid configuration: S3_BUCKET: no bucket "${bucket}" at ${s3?.endpoint}: make it (versioned), or set S3_BUCKET to the catalog's\n`;

  it('npm start: one line naming the bucket and the endpoint, exit 78', () => {
    const r = run(SERVER_BUNDLE, [], 'server');
    // That line alone: a warning that the store could not be compared with the catalog came first.
    expect(r.stderr).toBe(line);
    expect(r.status).toBe(78);
  });

  it('npm run catalog -- check: the same line, exit 78; --json says invalid_setting', () => {
    const r = run(join(ROOT, 'dist/catalog.mjs'), ['check'], 'cli');
    expect(r.stderr).toBe(line);
    expect(r.status).toBe(78);
    const j = run(join(ROOT, 'dist/catalog.mjs'), ['check', '--json'], 'cli-json');
    expect(j.status).toBe(78);
    expect(JSON.parse(j.stdout).error.code).toBe('invalid_setting');
  });
});
