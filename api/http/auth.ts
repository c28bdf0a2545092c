/**
 * Bearer tokens with roles. Secrets are shown once and stored as SHA-256;
 * `CATALOG_BOOTSTRAP_TOKEN` is accepted as an admin token when set.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import type { Db } from '../../db/client.js';
import { tokens } from '../../db/schema.js';
import { ApiError } from '../errors.js';
import type { AppEnv, Principal, Role } from '../context.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** The bootstrap token's SHA-256, hashed once per token value (not once per request). */
let bootstrapDigest: { token: string; digest: Buffer } | null = null;
function bootstrapSha256(token: string): Buffer {
  if (bootstrapDigest?.token !== token) bootstrapDigest = { token, digest: sha256(token) };
  return bootstrapDigest.digest;
}

/**
 * How long a token the database vouched for is taken without asking it again: a collector's
 * begin, uploads and commit then cost one token lookup, not one each. A revocation made by
 * this process (revokeToken, restoreTokens) forgets every such token at once; one made by
 * another process (the CLI, another server or Lambda instance) takes effect here within this
 * time (another process of the same server is told at once, see forgetVerifiedTokens).
 * Unknown and revoked secrets are never remembered: each is asked about every time.
 */
export const VERIFIED_TOKEN_MS = 5_000;
/** At most this many verified tokens are remembered per database (a catalog has a token per host, not millions). */
const VERIFIED_TOKEN_MAX = 10_000;
const verified = new WeakMap<object, Map<string, { principal: Principal; until: number }>>();
/**
 * Revocations seen per database (forgetVerifiedTokens counts them). A lookup that began before
 * one may have read the token as valid; it answers that once but does not remember it.
 */
const revocations = new WeakMap<object, number>();

/** Set by a server of several processes (api/server.ts): tells the others to forget theirs, resolving once they have. */
let tellOtherProcesses: (() => Promise<void>) | undefined;

/** Registers how a revocation reaches the server's other processes (undefined: there are none). */
export function whenTokensForgotten(tell: (() => Promise<void>) | undefined): void {
  tellOtherProcesses = tell;
}

/**
 * Forgets every token verified so far (a token was revoked): the next request of each asks the
 * database. In a server of several processes the others forget theirs too before this
 * resolves, so a revocation takes effect at once in every process of the server that made it;
 * `tell: false` is how one of those others forgets on being told.
 */
export async function forgetVerifiedTokens(db: Db, options: { tell?: boolean } = {}): Promise<void> {
  verified.get(db)?.clear();
  revocations.set(db, (revocations.get(db) ?? 0) + 1);
  if (options.tell !== false) await tellOtherProcesses?.();
}

/** Resolves a bearer secret to its principal, or null. */
export async function authenticate(db: Db, secret: string, bootstrapToken: string | undefined, now: Date): Promise<Principal | null> {
  // One hash of the secret serves both checks: compared in constant time with the bootstrap
  // token's, and in hex (hashSecret's form) as the key of the tokens table.
  const digest = sha256(secret);
  if (bootstrapToken && timingSafeEqual(digest, bootstrapSha256(bootstrapToken))) return { tokenId: 'bootstrap', role: 'admin', host: null };
  const secretSha256 = digest.toString('hex');
  let known = verified.get(db);
  const hit = known?.get(secretSha256);
  if (hit && hit.until > now.getTime() && hit.until - VERIFIED_TOKEN_MS <= now.getTime()) return hit.principal;
  const revokedBefore = revocations.get(db) ?? 0;
  const [row] = await db
    .select()
    .from(tokens)
    .where(and(eq(tokens.secretSha256, secretSha256), isNull(tokens.revokedAt)))
    .limit(1);
  if (!row) {
    known?.delete(secretSha256);
    return null;
  }
  // Touch last-used at most once a minute: a hot path must not write on every request.
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    await db.update(tokens).set({ lastUsedAt: now }).where(eq(tokens.id, row.id));
  }
  const principal: Principal = { tokenId: row.id, role: row.role as Role, host: row.host };
  // A revocation while this lookup ran may be of this very token: not remembered.
  if ((revocations.get(db) ?? 0) !== revokedBefore) return principal;
  if (!known) {
    known = new Map();
    verified.set(db, known);
  }
  if (known.size >= VERIFIED_TOKEN_MAX) known.clear();
  known.set(secretSha256, { principal, until: now.getTime() + VERIFIED_TOKEN_MS });
  return principal;
}

/** Middleware: a valid bearer token whose role is one of `roles` (admin always passes). */
export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { db, config, now } = c.var.services;
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    // Without a bearer token, a principal set earlier counts: the web console's session, which
    // api/console/session.ts resolves only for the download routes (GET) a browser follows.
    const principal = match ? await authenticate(db, match[1], config.CATALOG_BOOTSTRAP_TOKEN, now()) : c.var.principal;
    if (!match && !principal) throw new ApiError('unauthorized', 'a bearer token is required (Authorization: Bearer <token>)');
    if (!principal) throw new ApiError('unauthorized', 'the token is unknown or revoked');
    if (principal.role !== 'admin' && !roles.includes(principal.role)) {
      throw new ApiError('forbidden', `this route needs the ${roles.join(' or ')} role; the token has ${principal.role}`);
    }
    c.set('principal', principal);
    await next();
  };
}
