import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { estimatedHeapBytes } from '../../api/pipeline/parse.js';
import { parseArtifact } from '../../formats/parse.js';
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

  // The bound is the catalog's heap model (estimatedHeapBytes): a listing stopped early is one
  // whose whole outcome that model puts over the bound, and one it lets through parses as without it.
  test('a bounded parse is the unbounded one, or too_large where the whole outcome is over the bound', () => {
    const row = fc.record({
      // Few datasets, as on a real host: the outcome is then little more than its rows.
      dataset: fc.constantFrom('tank', 'tank/iscsi/esx-vol0', 'pool/v 1'),
      snapshot: fc.stringMatching(/^[a-z0-9][a-z0-9 _:-]{0,30}$/),
      creation: fc.integer({ min: 0, max: 99_999_999_999 }),
      used: fc.integer({ min: 0, max: 2 ** 40 }),
    });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 60 }), fc.integer({ min: -3000, max: 3000 }), (rows, offset) => {
        const text = rows.map((r) => `${r.dataset}@${r.snapshot}\t${r.creation}\t${r.used}\n`).join('');
        const bytes = new TextEncoder().encode(text);
        const whole = parseArtifact('zfs-snapshots', bytes);
        // Bounds about the outcome's own estimate: where a bound is over- or under-counted shows.
        const bound = Math.max(0, estimatedHeapBytes(whole) + offset);
        let bounded: unknown;
        try {
          bounded = parseArtifact('zfs-snapshots', bytes, {}, { maxHeapBytes: bound });
        } catch (e) {
          expect(e).toMatchObject({ code: 'too_large' });
          expect(estimatedHeapBytes(whole)).toBeGreaterThan(bound);
          return;
        }
        expect(bounded).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  test('a listing whose rows pass the bound stops there, not at its end', () => {
    const text = Array.from({ length: 100_000 }, (_, n) => `t@${n.toString(36)}\t1\t1\n`).join('');
    const bytes = new TextEncoder().encode(text);
    expect(estimatedHeapBytes(parseArtifact('zfs-snapshots', bytes))).toBeGreaterThan(4 * 1024 * 1024);
    expect(() => parseArtifact('zfs-snapshots', bytes, {}, { maxHeapBytes: 4 * 1024 * 1024 })).toThrow(
      expect.objectContaining({ code: 'too_large', line: expect.any(Number), message: expect.stringContaining('over 4 MiB') }),
    );
    try {
      parseArtifact('zfs-snapshots', bytes, {}, { maxHeapBytes: 4 * 1024 * 1024 });
    } catch (e) {
      // 4 MiB of rows of about 260 bytes each: the parse stopped near row 16,000 of 100,000.
      expect((e as { line: number }).line).toBeLessThan(20_000);
    }
  });
});
