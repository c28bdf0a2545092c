/**
 * restore.sh reads its repeated options (--device, --source) line by line as written, and
 * shows a disputed extent's candidates as dry runs without leaving --apply off for the rest.
 * Under every shell of restore-harness: a --device path with glob characters names that path
 * (it was expanded against the file system, so `disk?.img` became `disk1.img`); every --source
 * is checked, the last for an extent wins; and --apply, after showing a disputed extent 1's
 * candidates, still writes the undisputed extent 2.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RestoreCandidate, RestoreExtent, RestorePlan } from '../../api/bundle/restore-script.js';
import { buildVmfsDisk, SHORT_DUMP_DATA_OFFSET } from '../fixtures/vmfs-images.js';
import { availableShells, runScript, sha256, writeBundle } from './restore-harness.js';

const shells = availableShells();
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

const DISPUTED = 'naa.600144f0aabbccddeeff0011223344c1';
const WRITTEN = 'naa.600144f0aabbccddeeff0011223344c2';
const partition = (startLba: number) => ({ scheme: 'mbr' as const, index: 1, startLba, endLba: 209715199, type: '0xfb', missing: false });
const candidate = (host: string, i: number): RestoreCandidate => ({
  host,
  lun: 3,
  devicePath: '/nonexistent/vrc-test-disputed',
  headerFile: `h${i}.hex`,
  headerCollectedAt: `2026-10-0${3 - i}T02:00:00.000Z`,
  partition: partition(128 + i),
});
const dispute = [candidate('esx-a', 0), candidate('esx-b', 1)];

/**
 * A bundle of a disputed extent 1 and extent 2 on an image whose sector 0 was wiped (`dir` holds
 * both); with `alone`, extent 2 is the bundle's one extent, numbered 1.
 */
function bundle(alone = false): { dir: string; image: string; dump: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'vrc-restore-options-'));
  temps.push(dir);
  // The options are the point, not the dump's length: ~4 MiB at SHORT_DUMP_DATA_OFFSET, not ~20 MiB.
  const dump = buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', deviceId: WRITTEN, dumpLength: 'descriptor', dataOffset: SHORT_DUMP_DATA_OFFSET });
  const image = join(dir, 'disk2.img');
  const wiped = new Uint8Array(dump);
  wiped.fill(0, 0, 512);
  writeFileSync(image, wiped);
  const extents: RestoreExtent[] = [
    { number: 1, deviceId: DISPUTED, vml: null, expectedIdHex: DISPUTED.slice(4), ...dispute[0], dispute },
    {
      number: 2,
      host: 'esx-a',
      deviceId: WRITTEN,
      vml: null,
      lun: 4,
      devicePath: image,
      headerFile: 'written.hex',
      headerCollectedAt: '2026-10-01T02:00:00.000Z',
      partition: partition(128),
      expectedIdHex: WRITTEN.slice(4),
      dispute: null,
    },
  ];
  const plan: RestorePlan = {
    vmfsUuid: null,
    label: null,
    at: '2026-10-04T00:00:00.000Z',
    generatedAt: 'now',
    extents: alone ? [{ ...extents[1], number: 1 }] : extents,
  };
  writeBundle(dir, plan, { 'h0.hex': new Uint8Array(512), 'h1.hex': new Uint8Array(512), 'written.hex': dump });
  return { dir, image, dump };
}

describe.each(shells)('$name', (shell) => {
  it('--apply shows the disputed extent 1 as dry runs, refuses it, and still writes extent 2', () => {
    const { dir, image, dump } = bundle();
    const r = runScript(shell, join(dir, 'restore.sh'), ['--apply']);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toContain('extent 1, if picked (--source 1=esx-b)');
    expect(r.out).toMatch(/extent 1, if picked \(--source 1=esx-a\)[^\n]*\n[^\n]*\n {2}would run: /);
    expect(r.out).toContain(`extent 2: ${WRITTEN} -> ${image}`);
    expect(r.out).toContain('sector 0 written and read back');
    expect(sha256(readFileSync(image))).toBe(sha256(dump));
  });

  it('every --source is checked, and the last one for an extent wins', () => {
    const { dir } = bundle();
    const script = join(dir, 'restore.sh');
    const bad = runScript(shell, script, ['--source', '1=esx-nobody', '--source', '1=esx-a']);
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toContain('no candidate dump from esx-nobody');
    const last = runScript(shell, script, ['--extent', '1', '--source', '1=esx-a', '--source', '1=esx-b']);
    expect(last.code, last.out).toBe(0);
    expect(last.out).toContain("extent 1, from esx-b's dump of 2026-10-02T02:00:00.000Z, picked with --source");
    expect(last.out).not.toContain("from esx-a's dump");
  });

  it('a --device path is the path as written, glob characters and all', () => {
    const { dir } = bundle(true);
    writeFileSync(join(dir, 'disk1.img'), new Uint8Array(0));
    const pattern = join(dir, 'disk?.img');
    // The one-extent form (a bare path), and N=PATH.
    for (const device of [pattern, `1=${pattern}`]) {
      const r = runScript(shell, join(dir, 'restore.sh'), ['--device', device]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`extent 1: ${WRITTEN} -> '${pattern}'`);
      expect(r.out).not.toContain('disk1.img');
    }
  });
});
