/**
 * `npm start` and `npm run catalog` with S3 settings on Node 20 printed the AWS SDK's
 * 8-line NodeVersionSupportWarning (its releases after January 2027 need Node 22) at every
 * start. The catalog switches that one warning off with the SDK's own setting: other
 * warnings still show, and an operator who sets the variable to false gets it back.
 * (On Node 22 and later the SDK has nothing to warn about, and these pass either way.)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const CLI_BUNDLE = join(ROOT, 'dist/catalog.mjs');
const dir = mkdtempSync(join(tmpdir(), 'vrc-boot-s3-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Another warning, raised before the catalog's code runs: it must still be printed.
const otherWarning = join(dir, 'other-warning.mjs');
writeFileSync(otherWarning, "process.emitWarning('vrc-other-warning');\n");
const NODE_20 = Number(process.versions.node.split('.')[0]) < 22;

/** S3 settings for a store that is not there: the SDK's client is made at start all the same. */
const s3 = (dataDir: string, extra: Record<string, string> = {}) =>
  serverEnv({
    DATA_DIR: dataDir,
    PORT: '0',
    S3_BUCKET: 'vrc-no-bucket',
    S3_ENDPOINT: 'http://127.0.0.1:1',
    S3_FORCE_PATH_STYLE: 'true',
    S3_MAX_ATTEMPTS: '1',
    S3_TIMEOUT_MS: '500',
    CATALOG_BOOTSTRAP_TOKEN: 'boot-s3-warning-token-0123456789',
    ...extra,
  });

/** Starts the server until it listens (or ends), then stops it; its stderr. */
function startServer(dataDir: string, extra: Record<string, string> = {}): Promise<{ listened: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', otherWarning, SERVER_BUNDLE], { cwd: ROOT, env: s3(dataDir, extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let listened = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (!listened && /listening on http/.test(out)) {
        listened = true;
        child.kill('SIGTERM');
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ listened, stderr: err });
    });
  });
}

it('npm start: no NodeVersionSupportWarning, other warnings still printed', { timeout: 150_000 }, async () => {
  const r = await startServer(join(dir, 'server'));
  expect(r.listened, r.stderr).toBe(true);
  expect(r.stderr).not.toContain('NodeVersionSupportWarning');
  expect(r.stderr).toContain('vrc-other-warning');
});

it('npm run catalog: no NodeVersionSupportWarning', { timeout: 150_000 }, () => {
  const r = spawnSync(process.execPath, [CLI_BUNDLE, 'tokens', 'list'], { cwd: ROOT, env: s3(join(dir, 'cli')), encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).not.toContain('NodeVersionSupportWarning');
});

it.skipIf(!NODE_20)('an operator who sets the SDK switch to false still gets the warning', { timeout: 150_000 }, async () => {
  const r = await startServer(join(dir, 'server-loud'), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' });
  expect(r.listened, r.stderr).toBe(true);
  expect(r.stderr).toContain('NodeVersionSupportWarning');
});
