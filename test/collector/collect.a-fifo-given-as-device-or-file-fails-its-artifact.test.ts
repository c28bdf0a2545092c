/**
 * `collect --device PATH` or `--file KIND:PATH` naming a FIFO fails that artifact and the run
 * goes on (exit 2, the other artifacts read): opening a FIFO waits for a writer, past any
 * --command-timeout, so the nightly run never ended and the next night's started beside it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { BUNDLE, buildBundle } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'collect-fifo-'));
const root = join(dir, 'root');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  buildBundle();
  spawnSync('mkdir', ['-p', root]);
  writeFileSync(join(root, 'sdb'), buildVmfsDisk({ lvmMajor: 5 }));
  const mk = spawnSync('mkfifo', [join(root, 'pipe')]);
  if (mk.status !== 0) throw new Error(`mkfifo: ${mk.stderr}`);
});

it('fails the FIFO artifacts and reads the rest', () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  env.VMFS_COLLECTOR_CONFIG = join(dir, 'absent.json');
  const args = ['collect', '--dry-run', '--json', '--root', root, '--host', 'esx01', '--spool', join(dir, 'spool')];
  const r = spawnSync(process.execPath, [BUNDLE, ...args, '--device', '/pipe', '--file', 'vh-sf:/pipe', '--device', '/sdb'], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(r.signal, 'collect did not end').toBeNull();
  expect(r.status, r.stderr).toBe(2);
  const report = JSON.parse(r.stdout) as { captures: { artifacts: { sourcePath: string; kind: string; status: string; error: string | null }[] }[] };
  const artifacts = report.captures[0].artifacts.map((a) => [a.kind, a.sourcePath, a.status, a.error]);
  expect(artifacts).toEqual(
    expect.arrayContaining([
      ['vmfs-header', '/pipe', 'error', 'not a file or a device (a FIFO)'],
      ['vh-sf', '/pipe', 'error', 'not a file or a device (a FIFO)'],
      ['vmfs-header', '/sdb', 'ok', null],
    ]),
  );
});
