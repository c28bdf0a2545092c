/**
 * OldestFirst (api/oldest-first.ts) answers what `map.keys().next()` answers — the oldest key
 * in the Map's own order — under everything the bounded maps of the catalog do between two
 * evictions: set new keys, delete any key, move a key last (`use`: a hit of KeptChunks
 * or Declarations), clear the map, set a key again after it was evicted. Each
 * key taken is deleted before the next take, as its callers do.
 */
import { describe, expect, it } from 'vitest';
import { OldestFirst } from '../../api/oldest-first.js';

/** A small deterministic generator, so a failure repeats (seed printed in the test name). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('OldestFirst', () => {
  for (const seed of [1, 2, 3, 20261201]) {
    it(`takes the Map's oldest key through random sets, deletes, moves, clears and evictions (seed ${seed})`, () => {
      const random = lcg(seed);
      const map = new Map<number, number>();
      const oldest = new OldestFirst(map);
      let nextKey = 0;
      let taken = 0;
      for (let step = 0; step < 20_000; step++) {
        const r = random();
        const keys = [...map.keys()];
        const any = keys[Math.floor(random() * keys.length)];
        if (r < 0.45) map.set(nextKey++, step);
        else if (r < 0.5 && nextKey > 0)
          map.set(Math.floor(random() * nextKey), step); // maybe a key evicted before, set again
        else if (r < 0.6 && any !== undefined) map.delete(any);
        else if (r < 0.7 && any !== undefined) {
          oldest.use(any);
        } else if (r < 0.7005) map.clear();
        else if (map.size > 0) {
          const expected = map.keys().next().value;
          const key = oldest.take();
          expect(key, `step ${step}`).toBe(expected);
          map.delete(key);
          taken++;
        }
      }
      expect(taken).toBeGreaterThan(5_000);
    });
  }

  it('starts again from the oldest key after the map was emptied by takes', () => {
    const map = new Map([['a', 1]]);
    const oldest = new OldestFirst(map);
    expect(oldest.take()).toBe('a');
    map.delete('a');
    map.set('b', 2).set('c', 3);
    expect(oldest.take()).toBe('b');
    map.delete('b');
    expect(oldest.take()).toBe('c');
  });
});
