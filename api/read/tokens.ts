/** Tokens as the admin lists them: never their secrets. */
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
