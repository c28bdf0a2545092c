/**
 * Which header dumps a bundle keeps (api/bundle/choose.ts), as tables: the newest dump
 * of each series (host, kind, source path, device), plus — when that newest one had
 * lost its partition table — the newest dump of the same series that still had it.
 * Also the hosts and devices the bundle's other queries ask about.
 */
import { describe, expect, it } from 'vitest';
import { backingDatasetsOf, chooseHeaderDumps, esxHostsOf, latestPerSeries, storageHostsOf, subjectDeviceIds } from '../../api/bundle/choose.js';
import type { BundleSubject, ExtentRow } from '../../api/bundle/types.js';
import { descriptor, header, hoursAfterT0, inventoryExtent, target, wiped } from './rows-fixture.js';

const DEV3 = 'naa.600144f0aabbccddeeff001122334455';
const DEV4 = 'naa.600144f0c0ffee00000000000000beef';

// Rows arrive newest first, as the extents query orders them.
const t0 = header({ artifact: { collectedAt: hoursAfterT0(0) } });
const t1 = header({ artifact: { collectedAt: hoursAfterT0(1) } });
const t2 = header({ artifact: { collectedAt: hoursAfterT0(2) } });
const t3wiped = wiped({ artifact: { collectedAt: hoursAfterT0(3) } });
const t4wiped = wiped({ artifact: { collectedAt: hoursAfterT0(4) } });
const t3missing = header({ missing: true, artifact: { collectedAt: hoursAfterT0(3) } });
const t3gpt = header({ scheme: 'gpt', startLba: 2048, type: 'AA31E02A-400F-11DB-9590-000C2911D1B8', artifact: { collectedAt: hoursAfterT0(3) } });
const dev4 = header({ deviceId: DEV4, lun: 4, artifact: { collectedAt: hoursAfterT0(0) } });
const dev4wiped = wiped({ deviceId: DEV4, lun: 4, artifact: { collectedAt: hoursAfterT0(5) } });
const otherHost = header({ artifact: { host: 'esx02', collectedAt: hoursAfterT0(0) } });
const sameDevOtherPath = header({ artifact: { sourcePath: '/dev/sdb', collectedAt: hoursAfterT0(0) } });
const inv = inventoryExtent('esx09', DEV3);

const cases: Array<{ name: string; rows: ExtentRow[]; chosen: ExtentRow[] }> = [
  { name: 'no rows at all', rows: [], chosen: [] },
  { name: 'inventory rows only: no header dump to choose', rows: [inv], chosen: [] },
  { name: 'one dump', rows: [t0], chosen: [t0] },
  { name: 'a series of intact dumps: only the newest', rows: [t2, t1, t0], chosen: [t2] },
  { name: "the rows' order does not matter for the newest", rows: [t0, t2, t1], chosen: [t2] },
  { name: 'newest wiped: it, and the newest that still had the table', rows: [t3wiped, t2, t1, t0], chosen: [t3wiped, t2] },
  { name: 'two wiped dumps in a row: the newest wiped one and the newest intact', rows: [t4wiped, t3wiped, t1, t0], chosen: [t4wiped, t1] },
  { name: 'an entry flagged missing counts as lost', rows: [t3missing, t2], chosen: [t3missing, t2] },
  { name: 'a GPT table counts as intact', rows: [t3gpt, t2], chosen: [t3gpt] },
  { name: 'wiped and never intact: the newest only', rows: [t4wiped, t3wiped], chosen: [t4wiped] },
  { name: 'an intact dump older than the wipe in another series is not borrowed', rows: [dev4wiped, t0], chosen: [dev4wiped, t0] },
  { name: 'two devices: one series each, in first-seen order', rows: [t2, dev4, t0], chosen: [t2, dev4] },
  { name: 'one device wiped, the other not', rows: [dev4wiped, t2, dev4, t1], chosen: [dev4wiped, dev4, t2] },
  { name: 'the same device read on two hosts: two series', rows: [t1, otherHost], chosen: [t1, otherHost] },
  { name: 'the same device from another source path: two series', rows: [t1, sameDevOtherPath], chosen: [t1, sameDevOtherPath] },
  { name: 'inventory rows mixed in are never chosen', rows: [inv, t3wiped, inv, t2], chosen: [t3wiped, t2] },
];

describe('chooseHeaderDumps', () => {
  it.each(cases)('$name', ({ rows, chosen }) => {
    expect(chooseHeaderDumps(rows)).toEqual(chosen);
  });
});

describe('latestPerSeries', () => {
  it('keeps the first of two dumps captured at the same time', () => {
    const a = header({ artifact: { collectedAt: hoursAfterT0(1) } });
    const b = header({ artifact: { collectedAt: hoursAfterT0(1) } });
    expect(latestPerSeries([a, b])).toEqual([a]);
    expect(latestPerSeries([b, a])).toEqual([b]);
  });
  it('tells series apart by device, the empty device being its own', () => {
    const none = header({ artifact: { device: null } });
    const dev = header({ artifact: { device: DEV3 } });
    expect(latestPerSeries([none, dev])).toEqual([none, dev]);
  });
});

describe('the hosts and devices the other queries ask about', () => {
  const h1 = header({ artifact: { host: 'esx01' } });
  const h2 = wiped({ deviceId: DEV4, artifact: { host: 'esx02' } });
  const table: Array<{ name: string; rows: ExtentRow[]; subject: BundleSubject; devices: string[]; esxHosts: string[] }> = [
    { name: 'volume bundle, no rows', rows: [], subject: { vmfsUuid: 'v' }, devices: [], esxHosts: [] },
    { name: 'LUN bundle, no rows: its own device still asked about', rows: [], subject: { deviceId: DEV4 }, devices: [DEV4], esxHosts: [] },
    { name: 'LUN bundle whose device the rows name: listed once', rows: [h2, h2], subject: { deviceId: DEV4 }, devices: [DEV4], esxHosts: ['esx02'] },
    {
      name: 'volume bundle over two devices and an inventory',
      rows: [h1, h2, inv],
      subject: { vmfsUuid: 'v' },
      devices: [DEV3, DEV4],
      esxHosts: ['esx01', 'esx02', 'esx09'],
    },
    { name: 'an extent without a device id names no device', rows: [header({ deviceId: null })], subject: { vmfsUuid: 'v' }, devices: [], esxHosts: ['esx01'] },
  ];
  it.each(table)('$name', ({ rows, subject, devices, esxHosts }) => {
    expect(subjectDeviceIds(rows, subject)).toEqual(devices);
    expect(esxHostsOf(rows, [])).toEqual(esxHosts);
  });
  it('descriptor copies add their hosts', () => {
    expect(esxHostsOf([h1], [descriptor('v', { host: 'esx07' }), descriptor('v', { host: 'esx01' })])).toEqual(['esx01', 'esx07']);
  });
  it('storage hosts and zvol datasets of the targets, each once; a backing file is no dataset', () => {
    const ts = [target(), target({ lun: 4, backingStore: '/dev/zvol/dsk/tank/vmfs/lun4' }), target({ storageHost: 'sol02', backingStore: '/export/lu0.img' })];
    expect(storageHostsOf(ts)).toEqual(['sol01', 'sol02']);
    expect(backingDatasetsOf(ts)).toEqual(['tank/vmfs/lun3', 'tank/vmfs/lun4']);
  });
});
