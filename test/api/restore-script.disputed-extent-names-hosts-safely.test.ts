/**
 * A disputed extent's host names come from collectors, and restore.sh now prints them,
 * matches `--source N=HOST` against them and puts them in RESTORE.md. Whatever they hold
 * (quotes, `$(…)`, a newline), under every shell of restore-harness: nothing of them runs,
 * no control character reaches the output, each is picked by the name the script prints
 * (a newline shown as \x0a), and a name that is not a candidate is refused in one line.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderRestoreGuide } from '../../api/bundle/render.js';
import type { RestoreCandidate, RestoreExtent, RestorePlan } from '../../api/bundle/restore-script.js';
import type { BundleSelection } from '../../api/bundle/select.js';
import { availableShells, runScript, writeBundle } from './restore-harness.js';

const shells = availableShells();
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

const QUOTE = "esx'; touch pwned-quote #";
const DOLLAR = 'esx$(touch pwned-dollar)';
const NEWLINE = 'esx\ntouch pwned-newline';

// The LUN each host's dump reports is shown beside it; a dump without one shows none.
const candidate = (host: string, startLba: number, i: number): RestoreCandidate => ({
  host,
  lun: i === 0 ? null : 2 + i,
  devicePath: '/dev/sdc',
  headerFile: `h${i}.hex`,
  headerCollectedAt: `2026-10-0${i + 1}T02:00:00.000Z`,
  partition: { scheme: 'mbr', index: 1, startLba, endLba: 209715199, type: '0xfb', missing: false },
});
const dispute = [candidate(QUOTE, 2048, 2), candidate(DOLLAR, 63, 1), candidate(NEWLINE, 128, 0)];
const extent: RestoreExtent = {
  number: 1,
  deviceId: 'naa.600144f0aabbccddeeff0011223344e1',
  vml: null,
  expectedIdHex: '600144f0aabbccddeeff0011223344e1',
  ...dispute[0],
  dispute,
};
const plan: RestorePlan = {
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1e01',
  label: 'prod',
  at: '2026-10-04T00:00:00.000Z',
  generatedAt: 'now',
  extents: [extent],
};

function bundleDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vrc-dispute-hosts-'));
  temps.push(dir);
  writeBundle(dir, plan, Object.fromEntries(dispute.map((c) => [c.headerFile!, new Uint8Array(512)])));
  return dir;
}

/** No C0 control character but the line ends, no DEL. */
const controlFree = (s: string) => !/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s);

describe.each(shells)('$name: a disputed extent between hostile host names', (shell) => {
  it('the dry run and --apply print every candidate and run none of them', () => {
    const dir = bundleDir();
    const dry = runScript(shell, join(dir, 'restore.sh'), []);
    expect(dry.code, dry.out).toBe(0);
    const applied = runScript(shell, join(dir, 'restore.sh'), ['--apply']);
    expect(applied.code, applied.out).toBe(2);
    for (const out of [dry.out, applied.out]) {
      expect(controlFree(out), out).toBe(true);
      expect(out).toContain("esx'; touch pwned-quote # (LUN 4, dump of 2026-10-03T02:00:00.000Z): MBR #1, LBA 2048–");
      expect(out).toContain('esx$(touch pwned-dollar) (LUN 3, dump of 2026-10-02T02:00:00.000Z): MBR #1, LBA 63–');
      expect(out).toContain('esx\\x0atouch pwned-newline (dump of 2026-10-01T02:00:00.000Z): MBR #1, LBA 128–');
      expect(out).toContain(`extent 1, if picked (--source '1=esx'\\''; touch pwned-quote #'): `);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
  });

  it.each([
    [QUOTE, 2048],
    [DOLLAR, 63],
    ['esx\\x0atouch pwned-newline', 128],
  ])('--source 1=%s picks that host, by the name the script prints', (host, startLba) => {
    const dir = bundleDir();
    const r = runScript(shell, join(dir, 'restore.sh'), ['--source', `1=${host}`]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('picked with --source');
    expect(r.out).toContain(`msdos '1 ${startLba} 209715199 251 0'`);
    expect(r.out).not.toContain('DISPUTED');
    expect(controlFree(r.out), r.out).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
  });

  it.each(['esx', NEWLINE, "esx'"])('--source 1=%j is no candidate: one line, exit 1', (host) => {
    const dir = bundleDir();
    const r = runScript(shell, join(dir, 'restore.sh'), ['--apply', '--source', `1=${host}`]);
    expect(r.code, r.out).toBe(1);
    expect(r.out.trim().split('\n'), r.out).toHaveLength(1);
    expect(controlFree(r.out), r.out).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('pwned'))).toEqual([]);
  });
});

it('RESTORE.md lists each candidate on one line, control characters escaped, the pick quoted', () => {
  const { vmfsUuid, label, at, generatedAt } = plan;
  const sel: BundleSelection = {
    vmfsUuid,
    deviceId: null,
    label,
    version: null,
    at,
    generatedAt,
    root: 'r',
    files: [],
    plan,
    targets: [],
    snapshots: [],
    volumes: [],
  };
  const guide = renderRestoreGuide(sel);
  expect(controlFree(guide)).toBe(true);
  expect(guide).toContain(`# from esx\\x0atouch pwned-newline: sh restore.sh --apply --source '1=esx\\x0atouch pwned-newline'\n`);
  expect(guide).toContain(`# from ${QUOTE}: sh restore.sh --apply --source '1=esx'\\''; touch pwned-quote #'\n`);
  expect(guide).toContain('| esx$(touch pwned-dollar) | 3 | 2026-10-02T02:00:00.000Z | MBR #1, LBA 63–209715199, type 0xfb | h1.hex | /dev/sdc |');
  expect(guide).toContain('# extent 1: naa.600144f0aabbccddeeff0011223344e1: disputed, nothing is run without --source 1=HOST (see above)');
});
