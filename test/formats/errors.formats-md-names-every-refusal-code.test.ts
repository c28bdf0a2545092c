/**
 * docs/formats.md says how a parser refuses its input — FormatError and each of its codes,
 * which an artifact's parseError and `collector inspect` show — and names every code the
 * parsers can throw, no other.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FORMAT_ERROR_CODES } from '../../formats/errors.js';

it('names each FormatError code in its paragraph', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'formats.md'), 'utf8');
  const start = doc.indexOf('A parser that cannot read its input throws `FormatError`');
  expect(start).toBeGreaterThan(0);
  const paragraph = doc.slice(start, doc.indexOf('\n\n', start));
  const named = [...paragraph.matchAll(/`([a-z_]+)` \(/g)].map((m) => m[1]);
  expect(named).toEqual([...FORMAT_ERROR_CODES]);
});
