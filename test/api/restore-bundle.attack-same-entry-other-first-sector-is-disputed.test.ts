/**
 * restore.sh restores an MBR table by copying a header dump's whole first sector (`dd …
 * count=1`), so agreeing on the VMFS partition's entry is not enough: a host whose newer dump
 * of another host's LUN carries the same entry but another sector 0 beside it (here a second
 * partition entry laid over the VMFS data) would have had that sector written unasked. The
 * bundle compares the saved table bytes of the dumps that several hosts made of one device
 * (api/bundle/saved-tables.ts; for MBR the first sector): they differ, so the extent is disputed like one whose entries
 * differ, --apply refuses it and writes nothing, and --source picks the victim's sector. The
 * MBR layout (entries of 16 bytes from offset 446: status, CHS, type, CHS, LBA start and
 * sector count little-endian; 0x55AA at 510) is the one every MBR reader uses, e.g.
 * util-linux's libfdisk (libfdisk/src/dos.c) and the UEFI specification §5.2.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RestoreExtent } from '../../api/bundle/restore-script.js';
import { buildVmfsDisk, SHORT_DUMP_DATA_OFFSET } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, ingest } from '../helpers/ingest-client.js';
import { availableShells, shellsFor, runScript, sha256 } from './restore-harness.js';

const shells = availableShells();
const IDS = {
  deviceId: 'naa.600144f0aabbccddeeff0011223344e1',
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1e01',
  segmentUuid: '5a1c3e7e-11223344-5566-0050569a1e01',
};

/**
 * The victim's dump, and the attacker's: the same, with a second MBR entry (type 0x83, LBA 200,
 * 64 sectors) in sector 0. What differs is sector 0, not the dumps' length: ~4 MiB at
 * SHORT_DUMP_DATA_OFFSET, not ~20 MiB (each restore.sh run checks them, each device image copies one).
 */
const victimDump = buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', ...IDS, label: 'prod', lun: 4, dumpLength: 'descriptor', dataOffset: SHORT_DUMP_DATA_OFFSET });
const attackerDump = (() => {
  const d = new Uint8Array(victimDump);
  const entry = 446 + 16;
  d[entry + 4] = 0x83;
  new DataView(d.buffer).setUint32(entry + 8, 200, true);
  new DataView(d.buffer).setUint32(entry + 12, 64, true);
  return d;
})();

describeEachFlavour('another host’s dump with the same entry but another first sector', (flavour) => {
  let catalog: TestCatalog;
  const temps: string[] = [];

  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const tokens = await collectorTokens(catalog, ['esx-victim', 'esx-attacker']);
    for (const [host, at, bytes] of [
      ['esx-victim', '2026-10-01T02:00:00.000Z', victimDump],
      ['esx-attacker', '2026-10-02T02:00:00.000Z', attackerDump],
    ] as const) {
      await ingest(catalog, {
        host,
        hostKind: 'esx',
        token: tokens[host],
        collectedAt: new Date(at),
        artifacts: [{ kind: 'vmfs-header', fileName: `${IDS.deviceId}.hex`, sourcePath: '/dev/sdd', device: '/dev/sdd', bytes }],
      });
    }
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it('parses to the same VMFS entry, yet the extent is disputed by the sectors’ hashes', async () => {
    const root = await unpackBundle();
    const [extent] = (JSON.parse(readFileSync(join(root, 'bundle.json'), 'utf8')) as { extents: RestoreExtent[] }).extents;
    expect(extent.dispute?.map((c) => [c.host, c.partition.startLba, c.partition.savedTable])).toEqual([
      ['esx-attacker', 128, sha256(attackerDump.subarray(0, 512))],
      ['esx-victim', 128, sha256(victimDump.subarray(0, 512))],
    ]);
    expect(readFileSync(join(root, 'RESTORE.md'), 'utf8')).toContain(`saved table sha256 ${sha256(victimDump.subarray(0, 512)).slice(0, 16)}`);
  });

  it.each(shellsFor(flavour, shells))('$name: --apply refuses and writes nothing; --source picks the victim’s sector', async (shell) => {
    const root = await unpackBundle();
    const disk = join(root, 'disk.img');
    const wiped = new Uint8Array(victimDump);
    wiped.fill(0, 0, 512);
    writeFileSync(disk, wiped);
    const refused = runScript(shell, join(root, 'restore.sh'), ['--apply', '--device', disk]);
    expect(refused.code, refused.out).toBe(2);
    expect(refused.out).toContain('REFUSED');
    expect(sha256(readFileSync(disk))).toBe(sha256(wiped));
    const picked = runScript(shell, join(root, 'restore.sh'), ['--apply', '--device', disk, '--source', '1=esx-victim']);
    expect(picked.code, picked.out).toBe(0);
    expect(sha256(readFileSync(disk))).toBe(sha256(victimDump));
  });

  async function unpackBundle(): Promise<string> {
    const res = await catalog.request(`/v1/volumes/${IDS.vmfsUuid}/restore-bundle`);
    expect(res.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'vrc-sector-'));
    temps.push(dir);
    writeFileSync(join(dir, 'b.tar.gz'), new Uint8Array(await res.arrayBuffer()));
    execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir]);
    return join(dir, readdirSync(dir).find((n) => n !== 'b.tar.gz')!);
  }
});
