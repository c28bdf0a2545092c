/** Range headers resolved against an object size (RFC 9110 §14.1.2), table-driven. */
import { describe, expect, it } from 'vitest';
import { parseRange } from '../../api/http/range.js';

const SIZE = 1000;

type Case = [header: string | undefined, expected: ReturnType<typeof parseRange>, why: string];

describe('parseRange', () => {
  it.each<Case>([
    [undefined, null, 'no header: whole object'],
    ['bytes=0-0', { start: 0, end: 0 }, 'first byte'],
    ['bytes=0-999', { start: 0, end: 999 }, 'exactly the object'],
    ['bytes=10-19', { start: 10, end: 19 }, 'inner range'],
    ['bytes=990-5000', { start: 990, end: 999 }, 'end past the object is clamped'],
    ['bytes=990-', { start: 990, end: 999 }, 'open end'],
    ['bytes=-10', { start: 990, end: 999 }, 'suffix'],
    ['bytes=-5000', { start: 0, end: 999 }, 'suffix longer than the object'],
    ['BYTES = 5 - 6', { start: 5, end: 6 }, 'case and spaces'],
    ['bytes=1000-', 'unsatisfiable', 'starts at the end'],
    ['bytes=5000-6000', 'unsatisfiable', 'starts past the end'],
    ['bytes=-0', 'unsatisfiable', 'empty suffix'],
    ['bytes=20-10', null, 'reversed: ignored'],
    ['bytes=0-1,5-6', null, 'several ranges: whole object'],
    ['items=0-1', null, 'another unit: whole object'],
    ['bytes=-', null, 'malformed: ignored'],
  ])('%s → %j (%s)', (header, expected) => {
    expect(parseRange(header, SIZE)).toEqual(expected);
  });

  it('finds nothing to serve in an empty object', () => {
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRange('bytes=-1', 0)).toBe('unsatisfiable');
  });
});
