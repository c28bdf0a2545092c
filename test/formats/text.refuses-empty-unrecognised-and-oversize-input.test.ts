import { describe, expect, test } from 'vitest';
import { parseComstarListing } from '../../formats/comstar.js';
import { FormatError } from '../../formats/errors.js';
import { parseEsxInventory } from '../../formats/esx.js';
import { parseIscsitgtSmf, parseStmfSmf } from '../../formats/smf.js';
import type { ParsedArtifact } from '../../formats/types.js';
import { parseZfsSnapshots } from '../../formats/zfs.js';

const PARSERS: [string, (input: Uint8Array | string) => ParsedArtifact][] = [
  ['parseIscsitgtSmf', parseIscsitgtSmf],
  ['parseStmfSmf', parseStmfSmf],
  ['parseComstarListing', parseComstarListing],
  ['parseEsxInventory', parseEsxInventory],
  ['parseZfsSnapshots', parseZfsSnapshots],
];

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    return (e as FormatError).code;
  }
  return 'parsed';
}

describe.each(PARSERS)('%s refuses what it cannot read', (_name, parse) => {
  test.each([
    ['empty string', '', 'empty'],
    ['empty bytes', new Uint8Array(0), 'empty'],
    ['blank lines with CRLF', '\r\n  \r\n\t\r\n', 'empty'],
    ['a BOM and nothing else', '\ufeff\n', 'empty'],
    ['prose', 'The quick brown fox jumps over the lazy dog.\nNothing to see here.\n', 'unrecognized'],
    ['binary bytes', new Uint8Array([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 0x2f, 0xab, 0xf1, 0x5e]), 'unrecognized'],
  ])('%s → %s', (_label, input, code) => {
    expect(codeOf(() => parse(input))).toBe(code);
  });

  test('input over the size bound → too_large', () => {
    expect(codeOf(() => parse(new Uint8Array(32 * 1024 * 1024 + 1)))).toBe('too_large');
  });

  // Inputs that make backtracking regexes quadratic; a parser that had one would not finish within the test timeout.
  test.each([
    ['a long run of spaces inside a line', 'x' + ' '.repeat(1_000_000) + 'y'],
    ['a tag that never closes', '<service_bundle><propval ' + 'a'.repeat(1_000_000)],
    ['many attributes', '<service_bundle><propval ' + "a='b' ".repeat(100_000) + '/>'],
    ['an underline of many dash runs', 'Volume Name  VMFS UUID\n' + '- '.repeat(300_000) + '\n' + 'a '.repeat(300_000)],
    ['a secret line of blanks', 'targetchapsecret:' + ' \t'.repeat(500_000) + 'x'],
  ])('finishes on %s', (_label, input) => {
    expect(['parsed', 'unrecognized', 'malformed', 'empty']).toContain(codeOf(() => parse(input)));
  });

  test('something that is not text or bytes → unrecognized', () => {
    expect(codeOf(() => parse(42 as unknown as string))).toBe('unrecognized');
  });
});
