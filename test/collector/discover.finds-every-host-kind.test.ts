/**
 * Discovery on staged hosts, as `discover --json` and `collect --dry-run` see them:
 * ESXi 5+ (esxcli), ESX 4 (esxcfg-scsidevs), ESX 3 (esxcfg-vmhbadevs, /dev/sdX) and an
 * OpenSolaris storage host (iscsitgt + COMSTAR + zfs). A missing device is an error
 * for that artifact only (exit 2), never a crash.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ESX3_SYSTEM_UUID,
  ESXI_SYSTEM_UUID,
  MiB,
  stageEsx3Host,
  stageEsx4Host,
  stageEsxiHost,
  stageSolarisHost,
  stagedIds,
  type EsxiHost,
  type SolarisHost,
} from '../helpers/staged-hosts.js';
import { buildBundle, runJson } from './run-collector.js';

let esxi: EsxiHost;
let esx4: EsxiHost;
let esx3: EsxiHost;
let solaris: SolarisHost;

beforeAll(async () => {
  buildBundle();
  esxi = await stageEsxiHost([
    { deviceId: 'naa.6006016012345678abcdef0123460001', index: 21, sizeBytes: 24 * MiB },
    { deviceId: 'naa.6006016012345678abcdef0123460002', index: 22, sizeBytes: 24 * MiB },
  ]);
  esx4 = await stageEsx4Host([{ deviceId: 'naa.6006016012345678abcdef0123460004', index: 24, sizeBytes: 24 * MiB }]);
  esx3 = await stageEsx3Host([{ deviceId: 'naa.6006016012345678abcdef0123460003', index: 23, sizeBytes: 24 * MiB, sd: 'sdc' }]);
  solaris = await stageSolarisHost([
    { guid: '600144F0C0FFEE000000000000000031', dataset: 'tank/vm/lun0', lun: 0, vmfs: { deviceId: '', index: 31 }, sizeBytes: 24 * MiB },
    { guid: '600144F0C0FFEE000000000000000032', dataset: 'tank/vm/lun1', lun: 1, vmfs: false, sizeBytes: 4 * MiB },
  ]);
});
afterAll(() => {
  for (const h of [esxi, esx4, esx3, solaris]) h?.cleanup();
});

const discover = (h: { root: string; env: NodeJS.ProcessEnv }) => runJson(['discover', '--json', '--root', h.root, '--host', 'staged'], h.env);
const dryRun = (h: { root: string; env: NodeJS.ProcessEnv }) => runJson(['collect', '--dry-run', '--json', '--root', h.root, '--host', 'staged'], h.env);
const kinds = (artifacts: Array<{ kind: string }>) => artifacts.map((a) => a.kind);

describe('discover', () => {
  it("finds an ESXi host's inventory, every extent device and every volume", async () => {
    const { code, json } = await discover(esxi);
    expect(code).toBe(0);
    expect(json[0].host).toEqual({ name: 'staged', kind: 'esxi', systemUuid: ESXI_SYSTEM_UUID });
    expect(kinds(json[0].artifacts)).toEqual(['esx-inventory', 'vmfs-header', 'vmfs-header', 'vh-sf', 'vh-sf']);
    expect(json[0].artifacts[1]).toMatchObject({
      sourcePath: '/vmfs/devices/disks/naa.6006016012345678abcdef0123460001',
      device: 'naa.6006016012345678abcdef0123460001',
      bytes: 'header',
    });
    expect(json[0].artifacts[3].sourcePath).toBe(`/vmfs/volumes/${stagedIds(21).vmfsUuid}/.vh.sf`);
    expect(json[0].artifacts[0].sourcePath).toContain('partedUtil getptbl');
  });

  it('finds an ESX 4 host through esxcfg-scsidevs', async () => {
    const { json } = await discover(esx4);
    expect(json[0].host.kind).toBe('esx');
    expect(json[0].artifacts.map((a: any) => [a.kind, a.sourcePath])).toEqual([
      ['esx-inventory', 'esxcfg-scsidevs -m; grep /system/uuid /etc/vmware/esx.conf'],
      ['vmfs-header', '/vmfs/devices/disks/naa.6006016012345678abcdef0123460004'],
      ['vh-sf', `/vmfs/volumes/${stagedIds(24).vmfsUuid}/.vh.sf`],
    ]);
  });

  it("finds an ESX 3 host's /dev/sdX disks through esxcfg-vmhbadevs", async () => {
    const { json } = await discover(esx3);
    expect(json[0].host).toEqual({ name: 'staged', kind: 'esx', systemUuid: ESX3_SYSTEM_UUID });
    expect(json[0].artifacts.map((a: any) => [a.kind, a.sourcePath])).toEqual([
      ['esx-inventory', 'esxcfg-vmhbadevs; esxcfg-vmhbadevs -m; grep /system/uuid /etc/vmware/esx.conf'],
      ['vmfs-header', '/dev/sdc'],
      ['vh-sf', `/vmfs/volumes/${stagedIds(23).vmfsUuid}/.vh.sf`],
    ]);
  });

  it("finds a storage host's targets, LUs, backing stores and their snapshots", async () => {
    const { json } = await discover(solaris);
    expect(json[0].host.kind).toBe('solaris');
    expect(kinds(json[0].artifacts)).toEqual(['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'vmfs-header', 'vmfs-header', 'zfs-snapshots']);
    const dumps = json[0].artifacts.filter((a: any) => a.kind === 'vmfs-header');
    expect(dumps.map((a: any) => [a.sourcePath, a.device, a.onlyIfVmfs])).toEqual([
      ['/dev/zvol/rdsk/tank/vm/lun0', 'naa.600144f0c0ffee000000000000000031', true],
      ['/dev/zvol/rdsk/tank/vm/lun1', 'naa.600144f0c0ffee000000000000000032', true],
    ]);
    expect(json[0].artifacts[2].sourcePath).toContain('stmfadm list-view -l 600144F0C0FFEE000000000000000031');
  });

  it('says what it found on a host that is none of these', async () => {
    const { code, json } = await discover({ root: esxi.root, env: { ...process.env, PATH: '/usr/bin:/bin' } });
    expect(code).toBe(0);
    expect(json[0].host.kind).toBe('linux');
    expect(json[0].artifacts).toEqual([]);
    expect(json[0].notes.join('\n')).toMatch(/not an ESX host/);
  });
});

describe('collect --dry-run', () => {
  it('reads every discovered artifact on each kind of host', async () => {
    for (const h of [esxi, esx4, esx3, solaris]) {
      const { code, json, stderr } = await dryRun(h);
      expect(code, stderr).toBe(0);
      const c = json.captures[0];
      expect(c.state).toBe('dry-run');
      for (const a of c.artifacts) expect([a.sourcePath, a.status]).toEqual([a.sourcePath, a.sourcePath === '/dev/zvol/rdsk/tank/vm/lun1' ? 'skipped' : 'ok']);
      expect(json.bytesRead).toBeGreaterThan(20 * MiB);
      expect(json.chunksUploaded).toBeGreaterThan(0);
    }
  });

  it("reports an unreadable device as that artifact's error, exit 2, the rest captured", async () => {
    rmSync(join(esxi.root, 'vmfs/devices/disks/naa.6006016012345678abcdef0123460002'));
    const { code, json } = await dryRun(esxi);
    expect(code).toBe(2);
    const bad = json.captures[0].artifacts.filter((a: any) => a.status === 'error');
    expect(bad.map((a: any) => a.sourcePath)).toEqual(['/vmfs/devices/disks/naa.6006016012345678abcdef0123460002']);
    expect(bad[0].error).toMatch(/ENOENT/);
    expect(json.artifacts).toBe(4);
  });
});
