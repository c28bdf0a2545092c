/**
 * restore.sh's --device is how the operator says which disk an extent goes to at the DR
 * site. A value that named no extent of the bundle (a typo in the NAA, an
 * extent number it does not have, a bare PATH in a bundle of several extents, a path
 * without its leading /) was skipped without a word: the extent went to the path the dump
 * recorded and the run exited 0. So did an empty value (`--device ''`, `--device=`: what
 * `--device "$TARGET"` gives with TARGET unset) and a relative path after N= or DEVICE_ID=
 * (`1=tmp/disk`, while a bare `tmp/disk` was refused). Each is now one line on stderr and
 * exit 1, before anything is read or written; values that do name an extent still pick its
 * device — an NAA in upper case (as stmfadm prints GUIDs) too, as the catalog takes any case.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RestoreExtent, RestorePlan } from '../../api/bundle/restore-script.js';
import { availableShells, runScript, writeBundle } from './restore-harness.js';

const NAA1 = 'naa.600144f0aabbccddeeff001122334401';
const NAA2 = 'naa.600144f0aabbccddeeff001122334402';

function extent(number: number, deviceId: string): RestoreExtent {
  return {
    number,
    host: 'esx01',
    deviceId,
    vml: null,
    lun: number,
    devicePath: `/vmfs/devices/disks/${deviceId}`,
    headerFile: `esx01/vmfs-header/${deviceId}.hex`,
    headerCollectedAt: '2026-10-01T02:00:00.000Z',
    partition: { scheme: 'mbr', index: 1, startLba: 128, endLba: 209715199, type: '0xfb', missing: false },
    expectedIdHex: deviceId.slice(4),
  };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function bundleOf(extents: RestoreExtent[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'vrc-restore-device-'));
  dirs.push(dir);
  const plan: RestorePlan = {
    vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c',
    label: 'prod',
    at: '2026-10-01T03:00:00.000Z',
    generatedAt: '2026-10-02T00:00:00.000Z',
    extents,
  };
  return writeBundle(dir, plan, Object.fromEntries(extents.map((e) => [e.headerFile!, new Uint8Array(512)])));
}

describe.each(availableShells())('restore.sh under $name', (shell) => {
  const two = bundleOf([extent(1, NAA1), extent(2, NAA2)]);
  const one = bundleOf([extent(1, NAA1)]);

  it.each([
    [
      'an unknown device id',
      two,
      [`naa.600144f0aabbccddeeff001122334409=/tmp/disk`],
      /no extent of this bundle is naa\.600144f0aabbccddeeff001122334409; its extents: 1 naa\.[0-9a-f]+01, 2 naa\./,
    ],
    ['an extent number the bundle lacks', one, ['2=/tmp/disk'], /no extent of this bundle is 2; its extents: 1 naa\./],
    ['a bare PATH with two extents', two, ['/tmp/disk'], /this bundle has 2 extents; name the one with --device N=PATH/],
    ['a path without its leading /', one, ['tmp/disk'], /--device wants \/PATH, N=\/PATH or DEVICE_ID=\/PATH, got tmp\/disk/],
    ['a path without its leading / after N=', one, ['1=tmp/disk'], /--device wants \/PATH, N=\/PATH or DEVICE_ID=\/PATH, got 1=tmp\/disk/],
    [
      'a path without its leading / after DEVICE_ID=',
      two,
      [`${NAA2}=./disk`],
      /--device wants \/PATH, N=\/PATH or DEVICE_ID=\/PATH, got naa\.[0-9a-f]+02=\.\/disk/,
    ],
    ['an empty value', one, [''], /--device is empty/],
    ['an empty value after one that names an extent', two, ['1=/tmp/disk', ''], /--device is empty/],
  ])('refuses %s in one line, exit 1', (_name, script, values, message) => {
    refusedInOneLine(
      script,
      values.flatMap((v) => ['--device', v]),
      message,
    );
  });

  it('says how to name a device given bare, without --device (sh restore.sh --apply /dev/sdb)', () => {
    for (const apply of [[], ['--apply']]) {
      const r = runScript(shell, one, [...apply, '/dev/sdb']);
      expect(r.code, r.out).toBe(1);
      expect(r.out.trim().split('\n').at(-1)).toBe('restore.sh: unknown argument: /dev/sdb: name a device with --device PATH (or --device N=PATH)');
    }
    // Any other stray word is unknown, as before.
    expect(runScript(shell, one, ['--bogus']).out.trim().split('\n').at(-1)).toBe('restore.sh: unknown argument: --bogus');
  });

  it('refuses --device= (empty after =) in one line, exit 1', () => {
    refusedInOneLine(one, ['--device='], /--device is empty/);
    refusedInOneLine(two, ['--device=2=/tmp/disk', '--device='], /--device is empty/);
  });

  /** Runs the script with `args`, dry and with --apply: one line matching `message`, exit 1. */
  function refusedInOneLine(script: string, args: string[], message: RegExp): void {
    for (const apply of [[], ['--apply']]) {
      const r = runScript(shell, script, [...apply, ...args]);
      expect(r.code, r.out).toBe(1);
      expect(r.out.trim().split('\n'), r.out).toHaveLength(1);
      expect(r.out).toMatch(message);
    }
  }

  it.each([
    ['N=PATH', two, ['2=/tmp/disk-two'], /extent 2: naa\.[0-9a-f]+02 -> \/tmp\/disk-two/],
    ['DEVICE_ID=PATH', two, [`${NAA1}=/tmp/disk-one`], /extent 1: naa\.[0-9a-f]+01 -> \/tmp\/disk-one/],
    // stmfadm prints GUIDs in upper case; the catalog takes an NAA in any case, and so does the script.
    ['an upper-case DEVICE_ID=PATH', two, [`${NAA2.toUpperCase()}=/tmp/disk-two`], /extent 2: naa\.[0-9a-f]+02 -> \/tmp\/disk-two/],
    ['a mixed-case DEVICE_ID=PATH', two, [`Naa.600144F0aabbccddeeff001122334401=/tmp/disk-one`], /extent 1: naa\.[0-9a-f]+01 -> \/tmp\/disk-one/],
    ['a bare PATH with one extent', one, ['/tmp/disk-only'], /extent 1: naa\.[0-9a-f]+01 -> \/tmp\/disk-only/],
  ])('takes %s', (_name, script, values, line) => {
    const r = runScript(
      shell,
      script,
      values.flatMap((v) => ['--device', v]),
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(line);
  });
});
