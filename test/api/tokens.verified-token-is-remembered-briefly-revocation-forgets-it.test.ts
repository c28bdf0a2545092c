/**
 * A token the database vouched for is taken for VERIFIED_TOKEN_MS without asking again (a
 * collector's begin, uploads and commit cost one lookup), and no longer: a revocation by this
 * process takes effect at once, one made by another process (here: the row updated behind the
 * catalog's back, as the CLI does) within VERIFIED_TOKEN_MS. Unknown secrets are never
 * remembered, so a token created meanwhile works at once.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERIFIED_TOKEN_MS } from '../../api/http/auth.js';
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
