/**
 * `inspect` given a named pipe (a FIFO left in a backup directory, a glob that caught one)
 * reports it as that file's error and goes on; opening it waited for a writer, so the
 * command never ended and printed nothing for the files after it either.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { BUNDLE, buildBundle } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'inspect-fifo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  buildBundle();
  writeFileSync(join(dir, 'sdb.hex'), buildVmfsDisk({ lvmMajor: 5 }));
  const mk = spawnSync('mkfifo', [join(dir, 'pipe')]);
  if (mk.status !== 0) throw new Error(`mkfifo: ${mk.stderr}`);
});

it('reports a FIFO as unreadable and still inspects the files after it', () => {
  const r = spawnSync(process.execPath, [BUNDLE, 'inspect', '--json', join(dir, 'pipe'), join(dir, 'sdb.hex')], { encoding: 'utf8', timeout: 20_000 });
  expect(r.signal, 'inspect did not end').toBeNull();
  expect(r.status).toBe(2);
  const json = JSON.parse(r.stdout) as { kind: string; ok: boolean; error: { code: string; message: string } | null }[];
  expect(json.map((x) => [x.ok, x.error?.code ?? null])).toEqual([
    [false, 'unreadable'],
    [true, null],
  ]);
  expect(json[0].error?.message).toMatch(/not a file or a device \(a FIFO\)/);
  expect(json[1].kind).toBe('vmfs-header');
});
