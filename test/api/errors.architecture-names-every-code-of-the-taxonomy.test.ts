/**
 * docs/architecture.md ("Errors") lists the error taxonomy a client may meet: every code
 * `api/errors.ts` maps to a status, in the order it maps them, and no other — the list had
 * left out `unsupported_media_type` (415).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ERROR_STATUS } from '../../api/errors.js';

it('the Errors section names each code of ERROR_STATUS, in its order', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'architecture.md'), 'utf8');
  const start = doc.indexOf('One taxonomy (`api/errors.ts`):');
  expect(start).toBeGreaterThan(0);
  const list = doc.slice(start, doc.indexOf('each\nmapped to its status', start));
  expect([...list.matchAll(/`([a-z_]+)`/g)].map((m) => m[1])).toEqual(Object.keys(ERROR_STATUS));
});
