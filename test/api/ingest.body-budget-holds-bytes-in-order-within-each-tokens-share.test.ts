/**
 * The request body budget (api/ingest/body-budget.ts) on its own: bytes are taken while they
 * fit the whole budget and the key's share, waiters are let in in order as bytes come back, a
 * waiter only its own share holds back does not hold back other keys, one the whole budget holds
 * back keeps its turn, a wait ends in a 503 after waitMs, a full queue is a 503 at once, so is a
 * key's request past its own part of the queue (the other keys still wait), and a
 * gzip body's inflated bytes take the place of what was reserved before taking more.
 */
import { describe, expect, it } from 'vitest';
import { BodyBudget } from '../../api/ingest/body-budget.js';

const settled = () => new Promise((r) => setTimeout(r, 0));

/** `held` once it is held, after noting `name` in `order`. */
async function noted<T>(held: Promise<T>, order: string[], name: string): Promise<T> {
  const h = await held;
  order.push(name);
  return h;
}

describe('body budget', () => {
  it('takes bytes while they fit, then lets waiters in in order as bytes come back', async () => {
    const budget = new BodyBudget(100, 100, 10, 60_000);
    const a = await budget.reserve('a', 60);
    const order: string[] = [];
    const b = noted(budget.reserve('b', 50), order, 'b');
    const c = noted(budget.reserve('c', 10), order, 'c');
    await settled();
    // c fits (70 of 100) but b, which the whole budget holds back, keeps its turn.
    expect(order).toEqual([]);
    expect(budget.load).toEqual({ used: 60, waiting: 2 });
    a.release();
    a.release(); // once
    (await b).release();
    (await c).release();
    expect(order).toEqual(['b', 'c']);
    expect(budget.load).toEqual({ used: 0, waiting: 0 });
  });

  it('holds a key to its share without holding back other keys', async () => {
    const budget = new BodyBudget(100, 40, 10, 60_000);
    const a1 = await budget.reserve('a', 40);
    const order: string[] = [];
    const a2 = noted(budget.reserve('a', 10), order, 'a2');
    const b = await budget.reserve('b', 40); // passes a's waiter: only a's share holds it back
    await settled();
    expect(order).toEqual([]);
    a1.release();
    (await a2).release();
    expect(order).toEqual(['a2']);
    b.release();
    expect(budget.load.used).toBe(0);
  });

  it('answers a wait that outlasts waitMs, and a full queue at once, with 503', async () => {
    const budget = new BodyBudget(10, 10, 1, 50);
    const held = await budget.reserve('a', 10);
    const waited = budget.reserve('b', 5);
    await expect(budget.reserve('c', 5)).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    await expect(waited).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    held.release();
    expect(budget.load).toEqual({ used: 0, waiting: 0 });
  });

  it("answers a key's request past its part of the queue with 503 at once, while other keys still wait", async () => {
    const budget = new BodyBudget(10, 10, 10, 60_000, 2);
    const held = await budget.reserve('a', 10);
    const waiting = [budget.reserve('a', 5), budget.reserve('a', 5)];
    await expect(budget.reserve('a', 5)).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    const other = budget.reserve('b', 5);
    await settled();
    expect(budget.load).toEqual({ used: 10, waiting: 3 });
    held.release();
    (await waiting[0]).release();
    (await waiting[1]).release();
    (await other).release();
    expect(budget.load).toEqual({ used: 0, waiting: 0 });
  });

  it('lets inflated bytes use what was reserved first, then takes more only if it fits, never waiting', async () => {
    const budget = new BodyBudget(100, 50, 10, 60_000);
    const held = await budget.reserve('a', 10);
    expect(held.grow(8)).toBe(true); // within the 10 reserved
    expect(budget.load.used).toBe(10);
    expect(held.grow(30)).toBe(true); // 2 left of the reservation, 28 more
    expect(budget.load.used).toBe(38);
    expect(held.grow(20)).toBe(false); // past a's share of 50
    expect(budget.load.used).toBe(38);
    held.release();
    expect(held.grow(1)).toBe(false); // nothing is taken once given back
    expect(budget.load.used).toBe(0);
  });
});
