/**
 * A config file's "retries" and "parallel" are held to the range their flags take (--retries
 * 0–20, --parallel 1–64) and must be whole numbers, "spoolMaxBytes" and "headerBytes" byte
 * counts as their flags read them: one that is not stops every command that
 * reads the file with one line naming it, exit 78, as for any key of the wrong type (README,
 * "Running the collector"). `"retries": "x"` or `-1` was taken as it came: collect then sent no
 * request at all and spooled its capture as "catalog unreachable: " (exit 75), run after run.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildBundle, isolatedEnv, runCollector } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'config-numbers-'));
beforeAll(() => buildBundle());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config file holding `values` beside a catalog URL nothing listens on. */
function configWith(name: string, values: Record<string, unknown>): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ catalogUrl: 'http://127.0.0.1:9', token: 'vrc_test', ...values }), { mode: 0o600 });
  return file;
}

it('"retries": "x" stops collect before it reads or sends anything: exit 78, one line naming the file', async () => {
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'snapshots.txt'), 'tank/vol1@daily-1\t1700000000\n');
  const spool = join(dir, 'spool');
  const file = configWith('retries-text', { retries: 'x' });
  const r = await runCollector(
    ['collect', '--config', file, '--root', root, '--host', 'esx01', '--spool', spool, '--file', 'zfs-snapshots:/snapshots.txt'],
    isolatedEnv(join(dir, 'absent.json')),
  );
  expect(r.stderr).toBe(`collector collect: config ${file}: "retries" must be a whole number from 0 to 20\n`);
  expect(r.code).toBe(78);
  expect(r.stdout).toBe('');
  // Nothing was read into the spool.
  expect(readdirSync(dir)).not.toContain('spool');
});

it.each([
  ['retries', -1, 'a whole number from 0 to 20'],
  ['retries', 21, 'a whole number from 0 to 20'],
  ['retries', 1.5, 'a whole number from 0 to 20'],
  ['parallel', 0, 'a whole number from 1 to 64'],
  ['parallel', 65, 'a whole number from 1 to 64'],
  ['parallel', '8', 'a whole number from 1 to 64'],
  ['parallel', null, 'a whole number from 1 to 64'],
  // A byte count that is none was refused as a flag never given ("--spool-max-bytes: not a byte count", exit 64).
  ['spoolMaxBytes', true, 'a byte count (a number, or text such as "2G")'],
  ['spoolMaxBytes', '2 gigs', 'a byte count (a number, or text such as "2G")'],
  ['headerBytes', -1, 'a byte count (a number, or text such as "2G")'],
])('"%s": %j is refused by every command that reads the file (exit 78)', async (key, value, what) => {
  const file = configWith(`${key}-${String(value)}`, { [key]: value });
  for (const args of [
    ['spool', 'list', '--spool', join(dir, 'spool-list')],
    ['discover', '--root', dir],
  ]) {
    const r = await runCollector([...args, '--config', file], isolatedEnv(join(dir, 'absent.json')));
    expect([args[0], r.code, r.stderr]).toEqual([args[0], 78, `collector ${args[0]}: config ${file}: "${key}" must be ${what}\n`]);
  }
});

it('the ends of each range are taken without a word', async () => {
  for (const values of [
    { retries: 0, parallel: 1, spoolMaxBytes: 1048576, headerBytes: '1536M' },
    { retries: 20, parallel: 64, spoolMaxBytes: '2G', headerBytes: 2097152 },
  ]) {
    const file = configWith(`ends-${values.retries}`, values);
    // A spool given must exist and hold nothing but a spool's: an empty one.
    const spool = mkdtempSync(join(dir, 'spool-'));
    const r = await runCollector(['spool', 'list', '--spool', spool, '--config', file], isolatedEnv(join(dir, 'absent.json')));
    expect([r.code, r.stderr]).toEqual([0, '']);
  }
});
