/**
 * Both CLIs piped into a reader that stops early (`npm run catalog -- --help | head -1`, a
 * pager quit at once): the output that no longer goes anywhere is dropped and the command ends
 * as it would have — it was an uncaught `write EPIPE` with a stack trace and exit 1. The pipe
 * here is closed before the CLI writes, the surest way to make its write fail with EPIPE.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-epipe-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs a CLI with its stdout a pipe this side closes at once; its exit code and stderr. */
function runClosed(script: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, script), ...args], {
      cwd: ROOT,
      env: serverEnv({ DATA_DIR: dataDir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

it('the catalog CLI: --help into a closed pipe exits 0 without a stack trace', async () => {
  const r = await runClosed('dist/catalog.mjs', ['--help']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

it('the collector: --help into a closed pipe exits 0 without a stack trace', async () => {
  const r = await runClosed('dist/collector.cjs', ['--help']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});
