/**
 * `infra/build.mjs --if-changed` (what `npm start` runs) leaves dist/server.mjs alone when
 * every file it was built from is as it was, and builds it again when one changed (seen
 * here as a recorded size that no longer matches), when a recorded file is gone, or when
 * the output itself is gone. Without the flag it always builds.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from '../helpers/spawn-server.js';

const run = promisify(execFile);
// Inside the checkout, so the bundle's node_modules resolve (infra/build.mjs --out).
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const out = mkdtempSync(join(ROOT, '.tmp', 'build-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const bundle = join(out, 'server.mjs');
const stamp = join(out, '.server.mjs.inputs.json');
const build = (...flags: string[]) => run(process.execPath, ['infra/build.mjs', '--quiet', '--server', '--out', out, ...flags], { cwd: ROOT });
/** The output's inode change time: a rename into place changes it, leaving the file alone does not. */
const written = () => statSync(bundle).ctimeMs;

/** Rewrites the recorded inputs. */
function editStamp(edit: (inputs: Record<string, [number, number] | null>) => void): void {
  const recorded = JSON.parse(readFileSync(stamp, 'utf8')) as { key: string; inputs: Record<string, [number, number] | null> };
  edit(recorded.inputs);
  writeFileSync(stamp, JSON.stringify(recorded));
}

it('builds once, then leaves the bundle alone until an input, a recorded file or the output changes', { timeout: 180_000 }, async () => {
  await build('--if-changed');
  // A source saved while esbuild ran leaves no record (the next run builds again): build until one is kept.
  for (let i = 0; i < 3 && !existsSync(stamp); i++) await build('--if-changed');
  expect(existsSync(bundle)).toBe(true);
  expect(existsSync(join(out, 'migrations', 'meta', '_journal.json'))).toBe(true);
  const recorded = JSON.parse(readFileSync(stamp, 'utf8')) as { inputs: Record<string, unknown> };
  expect(Object.keys(recorded.inputs)).toEqual(expect.arrayContaining(['api/server.ts', 'db/client.ts', 'infra/build.mjs', 'package.json']));

  let before = written();
  await build('--if-changed');
  expect(written()).toBe(before);

  // A source whose size is not what the bundle was built from.
  editStamp((inputs) => {
    inputs['api/server.ts'] = [1, inputs['api/server.ts']![1]];
  });
  await build('--if-changed');
  expect(written()).not.toBe(before);

  before = written();
  await build('--if-changed');
  expect(written()).toBe(before);

  // A file the bundle was built from is gone.
  editStamp((inputs) => {
    inputs['api/no-such-file.ts'] = [10, 1];
  });
  await build('--if-changed');
  expect(written()).not.toBe(before);

  rmSync(bundle);
  await build('--if-changed');
  expect(existsSync(bundle)).toBe(true);

  before = written();
  await build();
  expect(written()).not.toBe(before);
});
