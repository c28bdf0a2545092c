/**
 * healthConditions as a pure function: which devices are expected to be presented (only
 * those whose NAA carries the IEEE company id of a captured LU: NAA 5/6 put the 24-bit OUI
 * right after the 4-bit type, T10 SPC-4 and docs/formats.md §3), `dsk` and `rdsk` naming
 * one zvol (illumos zvol device nodes /dev/zvol/{dsk,rdsk}/<dataset>), and the replication
 * period's edge.
 */
import { describe, expect, it } from 'vitest';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import { healthConditions, ouiOf, type HealthState } from '../../api/events/health.js';

const SUN = 'naa.600144f0aabbccddeeff001122334455';
const EMC = 'naa.6006016012345678abcdef0123456789';
const LISTED = new Date('2026-11-28T02:00:00Z');

function state(over: Partial<HealthState> = {}): HealthState {
  return {
    lus: [{ storageHost: 'thumper', deviceId: SUN, lun: 3, iqn: 'iqn.1986-03.com.sun:02:t', backingStore: '/dev/zvol/rdsk/tank/lun3', artifactId: 'a1' }],
    extents: [],
    storageHeaders: [],
    listings: [
      {
        host: 'thumper',
        artifactId: 'z1',
        collectedAt: LISTED,
        listedBefore: new Set(),
        newest: new Map([['tank/lun3', { snapshot: 'daily', createdAt: new Date(LISTED.getTime() - 48 * 3_600_000) }]]),
      },
    ],
    ...over,
  };
}

describe('health conditions', () => {
  it('reads the OUI of NAA 5 and 6 ids only', () => {
    expect(ouiOf(SUN)).toBe('00144f');
    expect(ouiOf(EMC)).toBe('006016');
    expect(ouiOf('naa.5000c50012345678')).toBe('000c50');
    expect(ouiOf('naa.2000001234567890')).toBeNull();
    expect(ouiOf('t10.ATA_____disk')).toBeNull();
    expect(datasetOfBackingStore('/dev/zvol/dsk/tank/lun3')).toBe('tank/lun3');
    expect(datasetOfBackingStore('/export/luns/lun3.img')).toBeNull();
  });

  it('flags an unpresented extent of a captured vendor, never one on another array', () => {
    const other = 'naa.600144f0000000000000000000000099';
    const out = healthConditions(
      state({
        extents: [
          { host: 'esx01', deviceId: EMC, vmfsUuid: null, lun: 1, artifactId: 'e1' },
          { host: 'esx01', deviceId: SUN, vmfsUuid: null, lun: 3, artifactId: 'e2' },
          { host: 'esx01', deviceId: other, vmfsUuid: 'v', lun: 4, artifactId: 'e3' },
          { host: 'esx02', deviceId: other, vmfsUuid: 'v', lun: 4, artifactId: 'e4' },
        ],
      }),
      { replicationPeriodHours: 48 },
    );
    expect(out.map((c) => c.condition)).toEqual([`target-guid-mismatch:extent:${other}`]);
    expect(out[0].details).toMatchObject({ seenBy: ['esx01', 'esx02'] });
  });

  it('matches a header dumped from the dsk node to the LU on the rdsk node', () => {
    const replica = 'naa.600144f0dddddddddddddddddddd0003';
    const out = healthConditions(
      state({
        lus: [{ storageHost: 'thumper', deviceId: replica, lun: 3, iqn: null, backingStore: '/dev/zvol/rdsk/tank/lun3', artifactId: 'a1' }],
        storageHeaders: [{ host: 'thumper', sourcePath: '/dev/zvol/dsk/tank/lun3', deviceId: SUN, vmfsUuid: 'v', artifactId: 'h1' }],
      }),
      { replicationPeriodHours: 48 },
    );
    expect(out).toMatchObject([{ condition: `target-guid-mismatch:lu:thumper:${replica}`, severity: 'critical', deviceId: SUN, vmfsUuid: 'v' }]);
  });

  it('a snapshot exactly one period old is fine; a minute older is not', () => {
    expect(healthConditions(state(), { replicationPeriodHours: 48 })).toEqual([]);
    const older = state();
    older.listings[0].newest.set('tank/lun3', { snapshot: 'daily', createdAt: new Date(LISTED.getTime() - 48 * 3_600_000 - 60_000) });
    expect(healthConditions(older, { replicationPeriodHours: 48 }).map((c) => c.condition)).toEqual([
      'backing-store-missing:thumper:tank/lun3:no-recent-snapshot',
    ]);
    // No listing from the LU's host: nothing to judge by, nothing raised.
    expect(healthConditions(state({ listings: [] }), { replicationPeriodHours: 1 })).toEqual([]);
  });
});
