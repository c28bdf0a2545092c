/**
 * The per-request checks have fast paths for the usual request, each held to the full check it
 * skips: the bootstrap token is hashed once per value, not per request, and still compared
 * exactly (a changed token is not answered from the old one's hash); a URL of printable ASCII
 * without `%` skips decoding (pathOrQueryProblem answers as the full decoding would, on any
 * URL); a UTC timestamp becomes ISO 8601 without a Date (iso answers as Date would).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodedUrlProblem, pathOrQueryProblem } from '../../api/app.js';
import { authenticate } from '../../api/http/auth.js';
import { iso } from '../../api/read/rows.js';
import type { Db } from '../../db/client.js';

/** A database that knows no token: every non-bootstrap secret is asked about and refused. */
function noTokens(): { db: Db; asked: () => number } {
  let asked = 0;
  const chain = {
    from: () => chain,
    where: () => chain,
    limit: async () => {
      asked++;
      return [];
    },
  };
  return { db: { select: () => chain } as unknown as Db, asked: () => asked };
}

describe('bootstrap token', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  it('is taken only when it is the configured token, as that token changes', async () => {
    const { db, asked } = noTokens();
    expect(await authenticate(db, 'first-token', 'first-token', now)).toEqual({ tokenId: 'bootstrap', role: 'admin', host: null });
    expect(await authenticate(db, 'first-tokem', 'first-token', now)).toBeNull();
    expect(await authenticate(db, 'first-token', 'second-token', now)).toBeNull();
    expect(await authenticate(db, 'second-token', 'second-token', now)).toEqual({ tokenId: 'bootstrap', role: 'admin', host: null });
    expect(await authenticate(db, 'first-token', undefined, now)).toBeNull();
    expect(await authenticate(db, 'second-token', 'first-token', now)).toBeNull();
    expect(asked()).toBe(4);
  });
});

describe('pathOrQueryProblem', () => {
  const pieces = [
    'a',
    'Z',
    '9',
    '.',
    '-',
    '/',
    '?',
    '&',
    '=',
    '+',
    '%',
    '%0',
    '%00',
    '%1b',
    '%7f',
    '%C2%85',
    '%zz',
    '%41',
    ' ',
    '"',
    '<',
    '`',
    '\\',
    '#',
    'é',
    '\u0085',
    '\u0000',
    '\t',
    '\n',
    '\u007f',
  ];
  it('answers as decoding the whole URL does', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), (path, query) => {
        const raw = `http://localhost/v1/${path.join('')}?q=${query.join('')}`;
        expect(pathOrQueryProblem(raw)).toBe(decodedUrlProblem(raw));
      }),
      { numRuns: 3000 },
    );
  });
  it('still refuses what the fast path must not let through', () => {
    expect(pathOrQueryProblem('http://localhost/v1/search?q=a%00b')).toMatch(/NUL or control/);
    expect(pathOrQueryProblem('http://localhost/v1/hosts/esx%1b01')).toMatch(/NUL or control/);
    expect(pathOrQueryProblem('http://localhost/v1/search?q=%ZZ')).toMatch(/does not decode/);
    expect(pathOrQueryProblem('http://localhost/v1/search?q=naa.600144f0aabbccddeeff001122334455')).toBeNull();
  });
});

describe('iso', () => {
  /** iso as it was: every string through Date. */
  const viaDate = (v: string) => {
    const d = new Date(v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
    return Number.isNaN(d.getTime()) ? v : d.toISOString();
  };
  it('answers as Date does for any timestamp PostgreSQL prints, and for near misses', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), maxLength: 7 }),
        fc.constantFrom('+00', '+00:00', 'Z', '+02', '-05:30', ''),
        fc.constantFrom('T', ' '),
        (y, mo, d, h, mi, frac, zone, sep) => {
          const s = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}${sep}${two(h)}:${two(mi)}:${two(mi % 60)}${frac ? `.${frac}` : ''}${zone}`;
          expect(iso(s)).toBe(viaDate(s));
        },
      ),
      { numRuns: 5000 },
    );
    expect(iso('2026-11-30 11:09:22.123956+00')).toBe('2026-11-30T11:09:22.123Z');
    expect(iso('2026-02-30T00:00:00+00:00')).toBe('2026-03-02T00:00:00.000Z');
  });
});
