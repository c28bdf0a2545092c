/** Tokens as the admin lists them: never their secrets. */
import { inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { tokens } from '../../db/schema.js';
import type { TokenView } from '../schemas/admin.js';

/** Every token, oldest first. */
export async function listTokens(db: Db): Promise<TokenView[]> {
  const rows = await db.select().from(tokens).orderBy(tokens.createdAt);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    host: r.host,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
  }));
}

/** The names of the tokens `ids` name (an event's acknowledgedBy), by id; ids of no token (the bootstrap token's) are left out. */
export async function tokenNames(db: Db, ids: Iterable<string>): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return new Map();
  const rows = await db.select({ id: tokens.id, name: tokens.name }).from(tokens).where(inArray(tokens.id, wanted));
  return new Map(rows.map((r) => [r.id, r.name]));
}
