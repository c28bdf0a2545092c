/**
 * The restore plan's extents (api/bundle/extents.ts), as tables: one per device, from
 * the newest chosen dump that still had the partition table (else the newest), numbered
 * in LUN order (then device id), each naming the bundle path of its dump and the device
 * restore.sh writes to by default; disputed when hosts' newest intact dumps of a device
 * disagree on its partition entry, with one candidate per host.
 */
import { describe, expect, it } from 'vitest';
import { defaultDevicePath, restoreExtents } from '../../api/bundle/extents.js';
import { bundleFiles } from '../../api/bundle/files.js';
import type { ExtentRow } from '../../api/bundle/types.js';
import { header, hoursAfterT0, wiped } from './rows-fixture.js';

const DEV3 = 'naa.600144f0aabbccddeeff001122334455';
const DEV4 = 'naa.600144f0c0ffee00000000000000beef';
const DEV7 = 'naa.600144f00000000000000000000000a7';

/** The extents for `headers`, with files made the way the selection makes them. */
function plan(headers: ExtentRow[]) {
  const none = { descriptors: [], inventories: [], undelete: [], storageConfig: [] };
  return restoreExtents(headers, bundleFiles({ ...none, headers }));
}

describe('restoreExtents', () => {
  it('no header dumps: no extents', () => expect(restoreExtents([], [])).toEqual([]));

  const d3 = header({ deviceId: DEV3, lun: 3 });
  const d4 = header({ deviceId: DEV4, lun: 4 });
  const d7 = header({ deviceId: DEV7, lun: 7 });
  const d4lun0 = header({ deviceId: DEV4, lun: 0 });
  const noLun = header({ deviceId: DEV7, lun: null });
  const sameLunA = header({ deviceId: DEV4, lun: 5 });
  const sameLunB = header({ deviceId: DEV3, lun: 5 });
  const lunOrder: Array<{ name: string; headers: ExtentRow[]; devices: string[] }> = [
    { name: 'already in LUN order', headers: [d3, d4, d7], devices: [DEV3, DEV4, DEV7] },
    { name: 'reversed', headers: [d7, d4, d3], devices: [DEV3, DEV4, DEV7] },
    { name: 'numeric, not text, order (LUN 7 before LUN 10)', headers: [header({ deviceId: DEV3, lun: 10 }), d7], devices: [DEV7, DEV3] },
    { name: 'LUN 0 first', headers: [d3, d4lun0], devices: [DEV4, DEV3] },
    { name: 'an unknown LUN sorts as LUN 0', headers: [d3, noLun], devices: [DEV7, DEV3] },
    { name: 'one LUN number on two devices: by device id', headers: [sameLunA, sameLunB], devices: [DEV3, DEV4] },
  ];
  it.each(lunOrder)('LUN order: $name', ({ headers, devices }) => {
    const extents = plan(headers);
    expect(extents.map((e) => e.deviceId)).toEqual(devices);
    expect(extents.map((e) => e.number)).toEqual(devices.map((_, i) => i + 1));
  });

  it('a device whose newest dump lost its table restores from the newest intact one', () => {
    const older = header({ artifact: { collectedAt: hoursAfterT0(0) } });
    const after = wiped({ artifact: { collectedAt: hoursAfterT0(3) } });
    const files = bundleFiles({ headers: [after, older], descriptors: [], inventories: [], undelete: [], storageConfig: [] });
    const [e] = restoreExtents([after, older], files);
    expect(e).toMatchObject({
      number: 1,
      host: 'esx01',
      deviceId: DEV3,
      lun: 3,
      headerCollectedAt: hoursAfterT0(0),
      headerFile: files.find((f) => f.artifactId === older.artifact.id)!.path,
      partition: { scheme: 'mbr', index: 1, startLba: 128, endLba: 209715199, type: '0xfb', missing: false },
    });
    expect(restoreExtents([after, older], files)).toHaveLength(1);
  });

  it('the newest of two intact dumps wins, whatever their order', () => {
    const a = header({ artifact: { collectedAt: hoursAfterT0(1) } });
    const b = header({ artifact: { collectedAt: hoursAfterT0(2) } });
    expect(plan([a, b])[0].headerCollectedAt).toBe(hoursAfterT0(2));
    expect(plan([b, a])[0].headerCollectedAt).toBe(hoursAfterT0(2));
  });

  it('no intact dump: the newest, with no table to write', () => {
    const [e] = plan([wiped({ artifact: { collectedAt: hoursAfterT0(1) } }), wiped({ startLba: 63, artifact: { collectedAt: hoursAfterT0(2) } })]);
    expect(e.partition).toEqual({ scheme: 'none', index: 0, startLba: 63, endLba: 0, type: '', missing: false });
  });

  it('a dump whose table entry is flagged missing keeps the flag', () => {
    expect(plan([header({ missing: true })])[0].partition).toMatchObject({ scheme: 'mbr', missing: true });
  });

  it('without a device id, dumps are grouped by host and device path', () => {
    const a = header({ deviceId: null, devicePath: '/dev/sdb', artifact: { host: 'esx01', device: null } });
    const b = header({ deviceId: null, devicePath: '/dev/sdb', artifact: { host: 'esx02', device: null } });
    const c = header({ deviceId: null, devicePath: '/dev/sdb', artifact: { host: 'esx01', device: null, sourcePath: '/dev/sdb-again' } });
    const extents = plan([a, b, c]);
    expect(extents.map((e) => [e.host, e.devicePath])).toEqual([
      ['esx01', '/dev/sdb'],
      ['esx02', '/dev/sdb'],
    ]);
  });

  it('a dump that is not in the files has no header file', () => {
    expect(restoreExtents([header()], [])[0].headerFile).toBeNull();
  });

  it('the expected id is the NAA digits, or the id inside the vml (docs/formats.md §3, after VMware KB 2078730)', () => {
    expect(plan([header({ deviceId: 'naa.600144F0AABBCCDDEEFF001122334455' })])[0].expectedIdHex).toBe('600144f0aabbccddeeff001122334455');
    // vml. = id type (2 hex), device type (2), LUN (4), reserved (2), the id, then 6 model bytes (12 hex): "COMSTA".
    const vml = `vml.0200030000600144f0aabbccddeeff001122334455${'434f4d535441'}`;
    expect(plan([header({ deviceId: null, vml, artifact: { device: null } })])[0].expectedIdHex).toBe('600144f0aabbccddeeff001122334455');
    expect(plan([header({ deviceId: 'mpx.vmhba1:C0:T0:L0', vml: null })])[0].expectedIdHex).toBeNull();
  });
});

describe('restoreExtents: disputed extents', () => {
  const at = (h: number) => ({ collectedAt: hoursAfterT0(h) });
  const victim = (over: Parameters<typeof header>[0] = {}) => header({ ...over, artifact: { host: 'esx01', ...at(1), ...over.artifact } });
  const other = (over: Parameters<typeof header>[0] = {}) => header({ ...over, artifact: { host: 'esx02', ...at(2), ...over.artifact } });
  const GPT = { scheme: 'gpt', index: 1, startLba: 2048, endLba: 4294967294, type: 'AA31E02A-400F-11DB-9590-000C2911D1B8' } as const;
  const hostsInDispute = (headers: ExtentRow[]) => plan(headers).map((e) => e.dispute?.map((c) => c.host) ?? null);

  const table: Array<{ name: string; headers: ExtentRow[]; dispute: Array<string[] | null> }> = [
    { name: 'one host', headers: [victim()], dispute: [null] },
    {
      name: 'one host, two dumps that differ (its newest intact one counts)',
      headers: [victim(), victim({ startLba: 2048, artifact: at(5) })],
      dispute: [null],
    },
    { name: 'two hosts that agree', headers: [victim(), other()], dispute: [null] },
    { name: 'another start LBA', headers: [victim(), other({ startLba: 2048 })], dispute: [['esx02', 'esx01']] },
    { name: 'another end LBA', headers: [victim(), other({ endLba: 1000 })], dispute: [['esx02', 'esx01']] },
    { name: 'another partition number', headers: [victim(), other({ index: 2 })], dispute: [['esx02', 'esx01']] },
    { name: 'another type', headers: [victim(), other({ type: '0x07' })], dispute: [['esx02', 'esx01']] },
    { name: 'another scheme', headers: [victim({ ...GPT }), other({ ...GPT, scheme: 'mbr' })], dispute: [['esx02', 'esx01']] },
    {
      name: 'a GPT type with and without dashes, in either case, agrees',
      headers: [victim({ ...GPT }), other({ ...GPT, type: GPT.type.replace(/-/g, '').toLowerCase() })],
      dispute: [null],
    },
    { name: 'the older host newest: newest first', headers: [victim({ artifact: at(9) }), other({ startLba: 2048 })], dispute: [['esx01', 'esx02']] },
    {
      name: "a host's wiped newest dump: its newest intact one counts",
      headers: [victim(), wiped({ artifact: { host: 'esx02', ...at(6) } }), other({ artifact: at(2) })],
      dispute: [null],
    },
    {
      name: "a host's wiped newest dump over a differing intact one",
      headers: [victim(), wiped({ artifact: { host: 'esx02', ...at(6) } }), other({ startLba: 2048 })],
      dispute: [['esx02', 'esx01']],
    },
    {
      name: 'a host with no intact dump is no candidate',
      headers: [victim(), wiped({ startLba: 2048, artifact: { host: 'esx02', ...at(6) } })],
      dispute: [null],
    },
    {
      name: 'only the disputed device',
      headers: [victim(), other({ startLba: 2048 }), victim({ deviceId: DEV7, lun: 7 }), other({ deviceId: DEV7, lun: 7 })],
      dispute: [['esx02', 'esx01'], null],
    },
    {
      name: 'three hosts, two agreeing: all three listed',
      headers: [victim(), other({ startLba: 2048 }), header({ artifact: { host: 'esx03', ...at(0) } })],
      dispute: [['esx02', 'esx01', 'esx03']],
    },
    {
      name: 'no device id: grouped per host, never disputed',
      headers: [victim({ deviceId: null, devicePath: '/dev/sdb' }), other({ deviceId: null, devicePath: '/dev/sdb', startLba: 2048 })],
      dispute: [null, null],
    },
  ];
  it.each(table)('$name', ({ headers, dispute }) => expect(hostsInDispute(headers)).toEqual(dispute));

  it('the saved table bytes restore.sh copies are compared too: MBR and GPT; unreadable ones never agree', () => {
    const disputeWith = (a: ExtentRow, b: ExtentRow, tables: [string, string]) => {
      const files = bundleFiles({ headers: [a, b], descriptors: [], inventories: [], undelete: [], storageConfig: [] });
      const saved = new Map([
        [a.artifact.id, tables[0]],
        [b.artifact.id, tables[1]],
      ]);
      return restoreExtents([a, b], files, saved)[0].dispute?.map((c) => c.host) ?? null;
    };
    expect(disputeWith(victim(), other(), ['aa', 'aa'])).toBeNull();
    expect(disputeWith(victim(), other(), ['aa', 'bb'])).toEqual(['esx02', 'esx01']);
    expect(disputeWith(victim({ ...GPT }), other({ ...GPT }), ['aa', 'bb'])).toEqual(['esx02', 'esx01']);
    const [a, b] = [victim(), other()];
    expect(disputeWith(a, b, [`unreadable:${a.artifact.id}`, `unreadable:${b.artifact.id}`])).toEqual(['esx02', 'esx01']);
  });

  it("each candidate is its host's dump, LUN, file and device path; the extent's own fields stay the newest intact dump's", () => {
    const a = victim({ devicePath: '/dev/sdc' });
    const b = other({ startLba: 2048, devicePath: '/vmfs/devices/disks/naa.x', lun: 5 });
    const files = bundleFiles({ headers: [a, b], descriptors: [], inventories: [], undelete: [], storageConfig: [] });
    const [e] = restoreExtents([a, b], files);
    const fileOf = (r: ExtentRow) => files.find((f) => f.artifactId === r.artifact.id)!.path;
    expect(e).toMatchObject({ host: 'esx02', lun: 5, headerFile: fileOf(b), partition: { startLba: 2048 } });
    expect(e.dispute).toEqual([
      {
        host: 'esx02',
        lun: 5,
        devicePath: '/vmfs/devices/disks/naa.x',
        headerFile: fileOf(b),
        headerCollectedAt: hoursAfterT0(2),
        partition: { scheme: 'mbr', index: 1, startLba: 2048, endLba: 209715199, type: '0xfb', missing: false },
      },
      {
        host: 'esx01',
        lun: 3,
        devicePath: '/dev/sdc',
        headerFile: fileOf(a),
        headerCollectedAt: hoursAfterT0(1),
        partition: { scheme: 'mbr', index: 1, startLba: 128, endLba: 209715199, type: '0xfb', missing: false },
      },
    ]);
  });
});

describe('defaultDevicePath', () => {
  const table: Array<[string, Parameters<typeof header>[0], string]> = [
    ['the path the dump was read from', { devicePath: '/dev/zvol/rdsk/tank/vmfs/lun3' }, '/dev/zvol/rdsk/tank/vmfs/lun3'],
    ["else the artifact's device when it is a path", { devicePath: null, artifact: { device: '/dev/sdc' } }, '/dev/sdc'],
    ['a relative device path is not a path', { devicePath: 'sdb', artifact: { device: DEV3 } }, `/vmfs/devices/disks/${DEV3}`],
    ['else the ESXi node of the device id', { devicePath: null }, `/vmfs/devices/disks/${DEV3}`],
    [
      "else of the artifact's device",
      { deviceId: null, devicePath: null, artifact: { device: 'mpx.vmhba1:C0:T0:L0' } },
      '/vmfs/devices/disks/mpx.vmhba1:C0:T0:L0',
    ],
    ['else a placeholder naming no device', { deviceId: null, devicePath: null, artifact: { device: null } }, '/vmfs/devices/disks/UNKNOWN-DEVICE'],
  ];
  it.each(table)('%s', (_name, over, path) => expect(defaultDevicePath(header(over))).toBe(path));
});
