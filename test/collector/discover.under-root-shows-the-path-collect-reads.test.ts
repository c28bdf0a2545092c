/**
 * `discover --root DIR --device /abs/img` listed `/abs/img` as something to capture, while
 * `collect` with the same flags reads DIR/abs/img (LocalAccess joins every host path under
 * the root) and failed "nothing could be read". Discover shows the path collect reads and
 * notes a given path that is not there.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBundle, isolatedEnv, runCollector, runJson } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'discover-root-'));
const root = join(dir, 'root');
const env = { ...isolatedEnv(join(dir, 'absent.json')), PATH: join(dir, 'no-commands') };
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  buildBundle();
  mkdirSync(join(root, 'dumps'), { recursive: true });
  writeFileSync(join(root, 'dumps', 'ds1.vh.sf'), Buffer.alloc(4096, 1));
});

const args = ['--root', root, '--host', 'h1', '--device', '/abs/img', '--file', 'vh-sf:/dumps/ds1.vh.sf'];

it('prints the root-joined path and notes a --device absent under the root', async () => {
  const r = await runCollector(['discover', ...args], env);
  expect(r.stdout).toContain(`/abs/img (read as ${join(root, 'abs', 'img')})`);
  expect(r.stdout).toContain(`/dumps/ds1.vh.sf (read as ${join(root, 'dumps', 'ds1.vh.sf')})`);
  expect(r.stdout).toContain(`note: --device /abs/img: no such file under ${root} (collect would read ${join(root, 'abs', 'img')})`);
  expect(r.stdout).not.toMatch(/note: --file/);
});

it('--json adds readAs and the same note', async () => {
  const r = await runJson(['discover', '--json', ...args], env);
  const [host] = r.json;
  expect(host.artifacts.map((a: { sourcePath: string; readAs: string }) => [a.sourcePath, a.readAs])).toEqual([
    ['/abs/img', join(root, 'abs', 'img')],
    ['/dumps/ds1.vh.sf', join(root, 'dumps', 'ds1.vh.sf')],
  ]);
  expect(host.notes).toContain(`--device /abs/img: no such file under ${root} (collect would read ${join(root, 'abs', 'img')})`);
});

it('with the default root there is no readAs', async () => {
  const r = await runJson(['discover', '--json', '--host', 'h1', '--file', `vh-sf:${join(root, 'dumps', 'ds1.vh.sf')}`], env);
  expect(r.json[0].artifacts[0].readAs).toBeNull();
  expect(r.json[0].notes.filter((n: string) => n.startsWith('--file'))).toEqual([]);
});
