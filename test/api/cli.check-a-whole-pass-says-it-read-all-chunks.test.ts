/**
 * `npm run catalog -- check --read-data-subset=N%` as a real process (dist/catalog.mjs): a scrub
 * that read every chunk record says `read all N chunks` — the whole store at 100 %, whether it
 * starts at the first record or goes round from where the last scrub stopped back to that
 * record, which it printed as `from X to X, wrapped` — while a slice still names where it began
 * and ended, and `wrapped` when it went past the last record to the first.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';
import { serverChildEnv, startServerChild } from '../helpers/server-child.js';
import { ingest, remoteCatalog } from '../helpers/ingest-client.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-check-'));
const bootstrap = `check-admin-${randomBytes(16).toString('hex')}`;
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The CLI as `npm run catalog --` runs it, on the server's DATA_DIR once the server is gone. */
function check(percent: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/catalog.mjs'), 'check', `--read-data-subset=${percent}`], {
      cwd: ROOT,
      env: serverEnv({ DATA_DIR: dataDir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The scrub's line of the report. */
const scrubLine = (stdout: string) => stdout.split('\n').find((l) => /^ {2}read /.test(l)) ?? `(no scrub line in)\n${stdout}`;

let records = 0;
beforeAll(async () => {
  const server = await startServerChild(await serverChildEnv(dataDir, bootstrap));
  try {
    // Three 1 MiB chunks of random bytes (chunks are 1 MiB: docs/architecture.md "Ingest protocol"), and its chunk list.
    await ingest(remoteCatalog(server.url, bootstrap), {
      host: 'esx01',
      artifacts: [{ kind: 'unknown', fileName: 'three.bin', bytes: randomBytes(3 * 1024 * 1024) }],
    });
  } finally {
    await server.kill('SIGTERM');
  }
}, 300_000);

it('says "read all N chunks" for a whole pass, from the first record or round from the cursor', { timeout: 300_000 }, async () => {
  const first = await check('100%');
  expect(first.code, first.stderr).toBe(0);
  const m = /^ {2}read all (\d+) chunks \(\d+ bytes\)$/.exec(scrubLine(first.stdout));
  expect(m, first.stdout).not.toBeNull();
  records = Number(m![1]);
  // The three chunks and the artifact's chunk list, each a record.
  expect(records).toBeGreaterThanOrEqual(3);

  // The cursor now sits on the last record: a whole pass starts after it and goes round to it.
  const round = await check('100%');
  expect(round.code, round.stderr).toBe(0);
  expect(scrubLine(round.stdout)).toBe(`  read all ${records} chunks (${/\((\d+) bytes\)/.exec(m![0])![1]} bytes)`);
  expect(round.stdout).not.toContain('wrapped');
});

it('names where a slice began and ended, and says wrapped when it went past the last record', { timeout: 300_000 }, async () => {
  const slice = Math.ceil(records / 2);
  // The cursor is on the last record: a 50 % slice goes round to the first records.
  const wrapped = await check('50%');
  expect(wrapped.code, wrapped.stderr).toBe(0);
  const line = scrubLine(wrapped.stdout);
  const m = new RegExp(`^ {2}read ${slice} chunks \\(\\d+ bytes, 50%\\) from ([0-9a-f]{64}) to ([0-9a-f]{64}), wrapped$`).exec(line);
  expect(m, line).not.toBeNull();
  expect(m![1]).not.toBe(m![2]);
  // The next slice begins where that one ended. Still a slice, not all.
  const next = await check('50%');
  expect(scrubLine(next.stdout)).toMatch(new RegExp(`^ {2}read ${slice} chunks \\(\\d+ bytes, 50%\\) from ${m![2]} to [0-9a-f]{64}(, wrapped)?$`));
  expect(next.stdout).not.toContain('read all');
});
