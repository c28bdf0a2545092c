/**
 * Text from a host (its banner, a device path, a command's error) is shown escaped: a
 * terminal acts on C0/C1 controls (ECMA-48: ESC starts a sequence, U+009B is CSI) and
 * Unicode's bidi overrides (UAX #9: U+202A–202E, U+2066–2069) reorder what is shown.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { hasControlChars, printableJson, visible, visibleLines } from '../../formats/printable.js';

const HOSTILE = 'ssh: \u001b]0;owned\u0007\u001b[2Jbanner\rover \u202etxt.exe\u009b31m\u2028';

it('visible shows every control, separator and bidi override as an escape, one line', () => {
  expect(visible(HOSTILE)).toBe('ssh: \\x1b]0;owned\\x07\\x1b[2Jbanner\\x0dover \\u202etxt.exe\\x9b31m\\u2028');
  expect(visible('a\nb\tc\u007f')).toBe('a\\x0ab\\x09c\\x7f');
  expect(visible('naa.600a0b80 — ds-prod-1 ü')).toBe('naa.600a0b80 — ds-prod-1 ü');
  expect(hasControlChars(HOSTILE)).toBe(true);
  expect(hasControlChars('plain text — ü')).toBe(false);
});

it('visibleLines keeps line breaks and escapes the rest', () => {
  expect(visibleLines(`one\u001b[1m\ntwo\r\n`)).toBe('one\\x1b[1m\ntwo\\x0d\n');
});

it('printableJson reads back as the same value and holds no raw control, separator or bidi override', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, text) => {
      const input = { value, text: HOSTILE + text };
      const out = printableJson(input);
      expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(input)));
      // Only the pretty-printer's own newlines remain.
      expect(hasControlChars(out.replace(/\n/g, ''))).toBe(false);
    }),
  );
});
