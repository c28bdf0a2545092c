import { describe, expect, test } from 'vitest';
import { parseZfsSnapshots, type ZfsDetails } from '../../formats/zfs.js';
import { collectorFile, zfsListSnapshots, type Quirks } from '../fixtures/text-fixtures.js';

const SNAPS = [
  { name: 'tank/iscsi/esx-vol0@daily-2024-01-01', creation: 1704067200, used: 0 },
  { name: 'tank/iscsi/esx-vol0@daily-2024-01-02', creation: 1704153600, used: 1048576 },
  { name: 'tank/iscsi/esx vol1@before upgrade', creation: 1262304000, used: 123456789012 },
];

describe('zfs snapshot list', () => {
  test.each<[string, Quirks]>([
    ['clean', {}],
    ['CRLF', { crlf: true }],
    ['trailing spaces', { trailingSpaces: true }],
    ['stderr mixed in', { stderr: ["cannot open 'tank/gone': dataset does not exist", 'warning: x'] }],
  ])('reads name, dataset, snapshot, creation and used (%s)', (_name, q) => {
    const parsed = parseZfsSnapshots(zfsListSnapshots(SNAPS, q));
    expect(parsed.kind).toBe('zfs-snapshots');
    const d = parsed.details as ZfsDetails;
    expect(d.snapshots).toEqual([
      { name: SNAPS[0].name, dataset: 'tank/iscsi/esx-vol0', snapshot: 'daily-2024-01-01', createdAt: '2024-01-01T00:00:00.000Z', usedBytes: 0 },
      { name: SNAPS[1].name, dataset: 'tank/iscsi/esx-vol0', snapshot: 'daily-2024-01-02', createdAt: '2024-01-02T00:00:00.000Z', usedBytes: 1048576 },
      { name: SNAPS[2].name, dataset: 'tank/iscsi/esx vol1', snapshot: 'before upgrade', createdAt: '2010-01-01T00:00:00.000Z', usedBytes: 123456789012 },
    ]);
    expect(d.datasets).toEqual(['tank/iscsi/esx vol1', 'tank/iscsi/esx-vol0']);
  });

  test('a collector section with no snapshots is an empty list, not an error', () => {
    const d = parseZfsSnapshots(collectorFile([{ command: 'zfs list -H -p -t snapshot -o name,creation,used', output: 'no datasets available\n' }]))
      .details as ZfsDetails;
    expect(d.snapshots).toEqual([]);
  });

  test.each([
    ['creation not a number', 'tank/a@s\tyesterday\t0\n', 1],
    ['used not a number', 'tank/a@s\t1704067200\t12K\n', 1],
    ['missing a column', 'tank/a@s\t1704067200\n', 1],
  ])('%s is malformed at its line', (_name, text, line) => {
    expect(() => parseZfsSnapshots(text)).toThrow(expect.objectContaining({ code: 'malformed', line }));
  });

  test.each([
    ['empty', '', 'empty'],
    ['no snapshot lines', 'NAME USED AVAIL\ntank 1G 2G\n', 'unrecognized'],
  ])('%s is refused', (_name, text, code) => {
    expect(() => parseZfsSnapshots(text)).toThrow(expect.objectContaining({ code }));
  });
});
