/**
 * Bearer tokens as the catalog keeps them: a row in `tokens` and, beside the manifests in
 * the store, `tokens/<id>.json` with what is needed to restore it — id, name, role, host
 * scope, SHA-256 of the secret, creation and revocation times; never the secret. The store
 * is the source of truth (docs/architecture.md): losing the database must not lock
 * operators and collectors out, so `rebuild` (and a first start on an empty database)
 * brings the tokens back, revoked ones still revoked.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { tokens } from '../../db/schema.js';
import { hashSecret, newSecret, type NewToken } from './secrets.js';
import type { Role, Services } from '../context.js';
import { ApiError } from '../errors.js';
import { forgetVerifiedTokens } from '../http/auth.js';
import { hostScopeProblem } from '../ingest/host-scope.js';
import type { BlobStore } from '../store/types.js';
import { prepareDataDir } from '../data-dir.js';

export const TOKENS_PREFIX = 'tokens/';
const FORMAT = 'vmfs-catalog-token/1';

/** Where a token's restorable record lives in the store. */
export function tokenKey(id: string): string {
  return `${TOKENS_PREFIX}${encodeURIComponent(id)}.json`;
}

/** The restorable record of a token: no secret, only its SHA-256. */
export interface KeptToken {
  format: typeof FORMAT;
  id: string;
  name: string;
  role: Role;
  host: string | null;
  secretSha256: string;
  createdAt: string;
  revokedAt: string | null;
}

type TokenRow = typeof tokens.$inferSelect;
type TokenServices = Pick<Services, 'db' | 'store' | 'now'>;

function kept(row: Pick<TokenRow, 'id' | 'name' | 'role' | 'host' | 'secretSha256' | 'createdAt' | 'revokedAt'>): KeptToken {
  return {
    format: FORMAT,
    id: row.id,
    name: row.name,
    role: row.role as Role,
    host: row.host,
    secretSha256: row.secretSha256,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

async function putKept(store: BlobStore, record: KeptToken): Promise<void> {
  await store.put(tokenKey(record.id), new TextEncoder().encode(JSON.stringify(record, null, 1)));
}

/**
 * Creates a token; the secret is returned once and never stored. Its record goes to the
 * store first: a token the store does not know could not be restored.
 */
export async function createToken(services: TokenServices, input: { role: Role; host?: string | null; name: string }): Promise<NewToken> {
  if (input.role === 'collector' && !input.host) throw new ApiError('bad_request', 'a collector token needs the host it collects for');
  // Only a collector's writes are scoped; an admin or operator token with a host kept and listed it, looking scoped while it reads every host.
  if (input.role !== 'collector' && input.host)
    throw new ApiError('bad_request', `an ${input.role} token reaches every host: a host is for collector tokens only (leave it out)`);
  const hostProblem = input.host ? hostScopeProblem(input.host) : null;
  if (hostProblem) throw new ApiError('bad_request', hostProblem);
  const id = randomUUID();
  const token = newSecret();
  const row = { id, name: input.name, role: input.role, host: input.host ?? null, secretSha256: hashSecret(token), createdAt: services.now(), revokedAt: null };
  await putKept(services.store, kept(row));
  await services.db.insert(tokens).values(row);
  return { id, token, role: input.role, host: row.host, name: input.name };
}

/**
 * Revokes a token (404 when unknown). The store learns of it first, so a rebuild never
 * brings a revoked token back; revoking twice keeps the first time.
 */
export async function revokeToken(services: TokenServices & Pick<Services, 'config'>, id: string): Promise<Date> {
  const [row] = await services.db.select().from(tokens).where(eq(tokens.id, id));
  // The first admin token given as a setting is no row of the catalog: the setting is what retires it.
  if (!row && id === 'bootstrap' && services.config.CATALOG_BOOTSTRAP_TOKEN)
    throw new ApiError(
      'conflict',
      'the bootstrap admin token is the CATALOG_BOOTSTRAP_TOKEN setting, not a token the catalog keeps: retire it by unsetting that setting and restarting the catalog (on AWS, deploy again with -c bootstrapToken=false); create an admin token of your own first',
    );
  if (!row) throw new ApiError('not_found', `no token ${id}`);
  const at = row.revokedAt ?? services.now();
  await putKept(services.store, kept({ ...row, revokedAt: at }));
  await services.db
    .update(tokens)
    .set({ revokedAt: at })
    .where(and(eq(tokens.id, id), isNull(tokens.revokedAt)));
  await forgetVerifiedTokens(services.db);
  return at;
}

function isKept(x: unknown): x is KeptToken {
  const t = x as Partial<KeptToken> | null;
  return (
    !!t &&
    t.format === FORMAT &&
    typeof t.id === 'string' &&
    typeof t.name === 'string' &&
    ['admin', 'operator', 'collector'].includes(t.role as string) &&
    typeof t.secretSha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(t.secretSha256) &&
    typeof t.createdAt === 'string' &&
    !Number.isNaN(Date.parse(t.createdAt)) &&
    (t.revokedAt === null || (typeof t.revokedAt === 'string' && !Number.isNaN(Date.parse(t.revokedAt)))) &&
    (t.host === null || typeof t.host === 'string')
  );
}

export interface RestoreTokensResult {
  /** Tokens the database lacked and now has. */
  restored: number;
  /** Tokens the database had unrevoked that the store knows as revoked. */
  revoked: number;
  errors: Array<{ key: string; message: string }>;
}

/**
 * Brings back every token recorded in the store: missing rows are inserted, and a row the
 * store knows as revoked is revoked. Rows the database already has are otherwise left alone.
 */
export async function restoreTokens(db: Db, store: BlobStore): Promise<RestoreTokensResult> {
  const result: RestoreTokensResult = { restored: 0, revoked: 0, errors: [] };
  for await (const o of store.list(TOKENS_PREFIX)) {
    if (!o.key.endsWith('.json')) continue;
    let record: unknown;
    try {
      const bytes = await store.getBytes(o.key);
      record = bytes ? JSON.parse(new TextDecoder().decode(bytes)) : null;
    } catch (e) {
      result.errors.push({ key: o.key, message: (e as Error).message });
      continue;
    }
    if (!isKept(record)) {
      result.errors.push({ key: o.key, message: `not a ${FORMAT} object` });
      continue;
    }
    const revokedAt = record.revokedAt ? new Date(record.revokedAt) : null;
    const inserted = await db
      .insert(tokens)
      .values({
        id: record.id,
        name: record.name,
        role: record.role,
        host: record.host,
        secretSha256: record.secretSha256,
        createdAt: new Date(record.createdAt),
        revokedAt,
      })
      .onConflictDoNothing()
      .returning({ id: tokens.id });
    if (inserted.length > 0) {
      result.restored++;
      continue;
    }
    if (revokedAt) {
      const updated = await db
        .update(tokens)
        .set({ revokedAt })
        .where(and(eq(tokens.id, record.id), isNull(tokens.revokedAt)))
        .returning({ id: tokens.id });
      result.revoked += updated.length;
    }
  }
  if (result.revoked > 0) await forgetVerifiedTokens(db);
  return result;
}

/**
 * Writes the record of every token the store does not know as the database does (tokens
 * made before records were kept, or a revocation whose record write was lost). Run at
 * start, so every token a database holds can be restored after it is lost. Returns how
 * many records were written.
 */
export async function keepAllTokens(services: Pick<Services, 'db' | 'store'>): Promise<number> {
  const rows = await services.db.select().from(tokens);
  let written = 0;
  for (const row of rows) {
    const bytes = await services.store.getBytes(tokenKey(row.id)).catch(() => null);
    let stored: unknown = null;
    try {
      stored = bytes ? JSON.parse(new TextDecoder().decode(bytes)) : null;
    } catch {
      /* rewritten below */
    }
    const want = kept(row);
    if (isKept(stored) && stored.secretSha256 === want.secretSha256 && (stored.revokedAt !== null || want.revokedAt === null)) continue;
    await putKept(services.store, want);
    written++;
  }
  return written;
}

async function hasActiveAdmin(db: Db): Promise<boolean> {
  const [admin] = await db
    .select({ n: sql<number>`1` })
    .from(tokens)
    .where(and(eq(tokens.role, 'admin'), isNull(tokens.revokedAt)))
    .limit(1);
  return !!admin;
}

/** Writes `text` to `dir/name`, or `name.1`, `name.2`, … when that exists: never overwrites a file. */
function writeNewFile(dir: string, name: string, text: string): string {
  prepareDataDir(dir);
  for (let n = 0; ; n++) {
    const path = join(dir, n === 0 ? name : `${name}.${n}`);
    try {
      writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw e;
    }
  }
}

/**
 * First start without CATALOG_BOOTSTRAP_TOKEN and without any usable admin token: tokens
 * kept in the store come back first (a lost database is not a first start). Only when no
 * admin token is left is one created, returned for printing once, and written to
 * $DATA_DIR/bootstrap-token (0600) — or `bootstrap-token.N` when that file exists, which is
 * never overwritten (it may hold the secret of a token a rebuild brings back).
 */
export async function ensureBootstrapToken(
  services: TokenServices,
  dataDir: string,
  bootstrapToken: string | undefined,
  /** Told, in one line, when an admin token came back from the store: no first-start token is shown then. */
  notice?: (line: string) => void,
): Promise<(NewToken & { file: string }) | null> {
  if (bootstrapToken) return null;
  if (await hasActiveAdmin(services.db)) return null;
  const back = await restoreTokens(services.db, services.store);
  if (await hasActiveAdmin(services.db)) {
    // A new host on the old bucket: the admin secrets are the lost catalog's (its DATA_DIR/bootstrap-token
    // may be gone with it), and this start shows none — say how in, rather than nothing.
    const admins = await services.db
      .select({ name: tokens.name })
      .from(tokens)
      .where(and(eq(tokens.role, 'admin'), isNull(tokens.revokedAt)));
    notice?.(
      `the database held no token: ${back.restored} came back from the store, those of the catalog that wrote it (admin: ${admins.map((a) => JSON.stringify(a.name)).join(', ')}), ` +
        'so no first-start admin token was made: sign in with one of those; with none at hand, start once with CATALOG_BOOTSTRAP_TOKEN set to a secret of your own (24 characters or more), create an admin token with it, then unset it',
    );
    return null;
  }
  const created = await createToken(services, { role: 'admin', name: 'bootstrap' });
  const file = writeNewFile(dataDir, 'bootstrap-token', created.token + '\n');
  return { ...created, file };
}
