/**
 * `collector restore` said nothing until the bundle was unpacked: the catalog checks every chunk
 * of a bundle before it sends the first byte (minutes for a support-grade dump), then the bytes
 * come, and a terminal silent that long reads as hung at the worst moment. On a terminal it now
 * keeps one line of stderr saying what it waits for, then how much has arrived, and clears it
 * before its report; without one (a script, a pipe) stderr stays empty. The terminal is a real
 * pty (util-linux script(1)); the catalog a real one behind a socket that holds its answer 2.5 s,
 * as a catalog checking a large bundle does.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { PROD, seedDatacenter } from '../api/read-side-seed.js';
import { BUNDLE, buildBundle, isolatedEnv, runCollector, serveApp } from './run-collector.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) console.warn('restore progress test: script(1) (util-linux) is not installed here, so no pty to run it on; apt-get install bsdutils');

describeEachFlavour('collector restore: progress on a terminal', (flavour) => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-progress-'));
  let catalog: TestCatalog;
  let served: Awaited<ReturnType<typeof serveApp>>;
  let url: string;

  beforeAll(async () => {
    buildBundle();
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    served = await serveApp(catalog.app, () => new Promise((r) => setTimeout(r, 2500)));
    url = served.url;
  });
  afterAll(async () => {
    await served?.close();
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (out: string) => ['restore', '--volume', PROD.vmfsUuid, '-o', join(dir, out), '--url', url, '--token', catalog.adminToken, '--retries', '0'];

  it.skipIf(!hasScript)('says what it waits for, then what has arrived, and clears the line before its report', { timeout: 60_000 }, async () => {
    const line = [process.execPath, BUNDLE, ...args('tty')].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const run = await new Promise<{ code: number; out: string }>((done) =>
      execFile('script', ['-qec', line, '/dev/null'], { env: isolatedEnv(join(dir, 'absent.json')), timeout: 50_000 }, (err, stdout) =>
        done({ code: err ? ((err.code as number) ?? 1) : 0, out: stdout }),
      ),
    );
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/\r\x1b\[Krestore bundle: [12] s, the catalog checks every chunk before it sends the first/);
    expect(run.out).toMatch(/\r\x1b\[Krestore bundle: \d+\.\d MiB received in \d+ s/);
    // Cleared before the report, which starts a line of its own.
    expect(run.out).toMatch(/\r\x1b\[K[^\r\n]*tty: \d+ file\(s\), every SHA-256 verified against SHA256SUMS/);
    expect(run.out.split('\r\x1b[K').at(-1)).toMatch(/^\S*tty: \d+ file\(s\)/);
  });

  it('without a terminal stderr stays empty', { timeout: 60_000 }, async () => {
    const r = await runCollector(args('pipe'), isolatedEnv(join(dir, 'absent.json')));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });
});
