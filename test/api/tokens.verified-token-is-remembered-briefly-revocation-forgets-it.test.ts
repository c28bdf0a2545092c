/**
 * A token the database vouched for is taken for VERIFIED_TOKEN_MS without asking again (a
 * collector's begin, uploads and commit cost one lookup), and no longer: a revocation by this
 * process takes effect at once, one made by another process (here: the row updated behind the
 * catalog's back, as the CLI does) within VERIFIED_TOKEN_MS. Unknown secrets are never
 * remembered, so a token created meanwhile works at once. A lookup that read the token as valid
 * just before this process revoked it answers that once, but does not remember it.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, forgetVerifiedTokens, VERIFIED_TOKEN_MS } from '../../api/http/auth.js';
import type { Db } from '../../db/client.js';
import { tokens } from '../../db/schema.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

describe('a verified token', () => {
  let catalog: TestCatalog;
  let clock = new Date('2026-06-01T00:00:00Z').getTime();

  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { now: () => new Date(clock) });
  });
  afterAll(async () => {
    await catalog.close();
  });

  async function newToken(name: string): Promise<{ id: string; token: string }> {
    const res = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'operator', name }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; token: string };
  }
  const asks = async (token: string) => (await catalog.request('/v1/hosts', { token })).status;

  it('is refused at once when this catalog revokes it', async () => {
    const { id, token } = await newToken('revoked here');
    expect(await asks(token)).toBe(200);
    const res = await catalog.request(`/v1/tokens/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await asks(token)).toBe(401);
  });

  it('is not remembered from a lookup that was in flight when this process revoked it', async () => {
    const { id, token } = await newToken('revoked mid-lookup');
    // The catalog's own database, with the token lookup held until the test lets it go: the
    // lookup reads the token as valid, then the revocation lands before the lookup returns.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let holding = true;
    const real = catalog.services.db;
    const hold = (builder: object): object =>
      new Proxy(builder, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver) as unknown;
          if (key === 'then' && typeof value === 'function') {
            return (ok: (v: unknown) => unknown, bad: (e: unknown) => unknown) =>
              (value as (a: unknown, b: unknown) => Promise<unknown>).call(
                target,
                async (rows: unknown) => {
                  if (holding) await held;
                  return ok(rows);
                },
                bad,
              );
          }
          return typeof value === 'function' ? (...args: unknown[]) => wrap((value as (...a: unknown[]) => unknown).apply(target, args)) : value;
        },
      });
    const wrap = (v: unknown) => (v && typeof v === 'object' ? hold(v) : v);
    const db = new Proxy(real, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key === 'select' && typeof value === 'function') return (...args: unknown[]) => hold((value as (...a: unknown[]) => object).apply(target, args));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Db;

    const inFlight = authenticate(db, token, undefined, new Date(clock));
    await new Promise((r) => setTimeout(r, 50));
    await real
      .update(tokens)
      .set({ revokedAt: new Date(clock) })
      .where(eq(tokens.id, id));
    await forgetVerifiedTokens(db);
    release();
    // The lookup read the row before the revocation: it answers with what it read.
    expect((await inFlight)?.tokenId).toBe(id);
    holding = false;
    // But the next request asks the database again and is refused.
    expect(await authenticate(db, token, undefined, new Date(clock))).toBeNull();
  });

  it('is refused within VERIFIED_TOKEN_MS when another process revokes it, and was taken until then', async () => {
    const { id, token } = await newToken('revoked elsewhere');
    expect(await asks(token)).toBe(200);
    await catalog.services.db
      .update(tokens)
      .set({ revokedAt: new Date(clock) })
      .where(eq(tokens.id, id));
    // Remembered: the database is not asked again yet.
    clock += VERIFIED_TOKEN_MS - 1;
    expect(await asks(token)).toBe(200);
    clock += 2;
    expect(await asks(token)).toBe(401);
    // And stays refused (a refusal is never remembered as a success).
    clock += VERIFIED_TOKEN_MS * 3;
    expect(await asks(token)).toBe(401);
  });

  it('never remembers an unknown secret', async () => {
    expect(await asks('no-such-token-secret')).toBe(401);
    const { token } = await newToken('made after a refusal');
    expect(await asks(token)).toBe(200);
  });
});
