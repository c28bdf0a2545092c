/**
 * Console sign-in: an operator or admin token is checked once, then forgotten; the browser
 * holds only a random session id (HttpOnly, SameSite=Strict, Secure over HTTPS) and the
 * database only its SHA-256. Forms carry a CSRF token derived from the session id, and a
 * POST whose Origin is another site is refused before anything else.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, lt } from 'drizzle-orm';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { consoleSessions, tokens } from '../../db/schema.js';
import { authenticate } from '../http/auth.js';
import type { AppEnv, Principal, Role } from '../context.js';

/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 4 * 3_600_000;
/** …and at the latest this long after sign-in. */
export const SESSION_MAX_MS = 12 * 3_600_000;
/** last_seen_at is written at most this often (a page view must not always write). */
const TOUCH_EVERY_MS = 60_000;

const COOKIE = 'vrc_session';
/** Over HTTPS the cookie takes the `__Host-` prefix: Secure, Path=/, no Domain, enforced by the browser. */
const SECURE_COOKIE = '__Host-vrc_session';

/** A signed-in console user: the token's principal and the session's CSRF token. */
export interface ConsoleUser extends Principal {
  csrf: string;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The CSRF token of a session: an HMAC keyed by the session id, so nothing more is stored. */
export function csrfFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('vrc-console-csrf').digest('base64url');
}

/** True when the request reached us over HTTPS (directly, or behind a proxy we trust, or PUBLIC_URL says so). */
function overHttps(c: Context<AppEnv>): boolean {
  const { config } = c.var.services;
  if (new URL(c.req.url).protocol === 'https:') return true;
  if (config.TRUST_PROXY && c.req.header('x-forwarded-proto')?.split(',')[0].trim() === 'https') return true;
  return config.PUBLIC_URL?.startsWith('https:') ?? false;
}

function sessionIdOf(c: Context<AppEnv>): string | null {
  const id = getCookie(c, SECURE_COOKIE) ?? getCookie(c, COOKIE);
  return id && /^[A-Za-z0-9_-]{43}$/.test(id) ? id : null;
}

/** Why a token cannot open a console session, or null with the principal. */
export async function signIn(c: Context<AppEnv>, secret: string): Promise<{ ok: true; principal: Principal } | { ok: false; reason: string }> {
  const { db, config, now } = c.var.services;
  const principal = secret ? await authenticate(db, secret, config.CATALOG_BOOTSTRAP_TOKEN, now()) : null;
  if (!principal) return { ok: false, reason: 'That token is unknown or revoked.' };
  if (principal.role === 'collector') {
    return { ok: false, reason: 'That is a collector token: it can only send captures. Sign in with an operator or admin token.' };
  }
  const id = randomBytes(32).toString('base64url');
  const at = now();
  await db.insert(consoleSessions).values({
    idSha256: sha256Hex(id),
    tokenId: principal.tokenId,
    role: principal.role,
    createdAt: at,
    lastSeenAt: at,
    expiresAt: new Date(at.getTime() + SESSION_IDLE_MS),
  });
  // Sessions long expired are swept at sign-in: there is no background job on Lambda.
  await db.delete(consoleSessions).where(lt(consoleSessions.expiresAt, new Date(at.getTime() - 24 * 3_600_000)));
  const secure = overHttps(c);
  setCookie(c, secure ? SECURE_COOKIE : COOKIE, id, { httpOnly: true, sameSite: 'Strict', secure, path: '/' });
  return { ok: true, principal };
}

/** Ends the request's session (row and cookie). */
export async function signOut(c: Context<AppEnv>): Promise<void> {
  const id = sessionIdOf(c);
  if (id) await c.var.services.db.delete(consoleSessions).where(eq(consoleSessions.idSha256, sha256Hex(id)));
  deleteCookie(c, COOKIE, { path: '/' });
  deleteCookie(c, SECURE_COOKIE, { path: '/', secure: true });
}

/**
 * The request's console user, or null: the session must exist, be unexpired, and its token
 * still be valid (a revoked token, or a bootstrap token no longer configured, ends it).
 */
export async function sessionUser(c: Context<AppEnv>): Promise<ConsoleUser | null> {
  const id = sessionIdOf(c);
  if (!id) return null;
  const { db, config, now } = c.var.services;
  const at = now();
  const [row] = await db
    .select()
    .from(consoleSessions)
    .where(and(eq(consoleSessions.idSha256, sha256Hex(id)), gt(consoleSessions.expiresAt, at)))
    .limit(1);
  if (!row) return null;
  let host: string | null = null;
  if (row.tokenId === 'bootstrap') {
    if (!config.CATALOG_BOOTSTRAP_TOKEN) return null;
  } else {
    const [token] = await db.select().from(tokens).where(eq(tokens.id, row.tokenId)).limit(1);
    if (!token || token.revokedAt || token.role !== row.role) return null;
    host = token.host;
  }
  if (at.getTime() - row.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    const expiresAt = new Date(Math.min(at.getTime() + SESSION_IDLE_MS, row.createdAt.getTime() + SESSION_MAX_MS));
    await db.update(consoleSessions).set({ lastSeenAt: at, expiresAt }).where(eq(consoleSessions.idSha256, row.idSha256));
  }
  return { tokenId: row.tokenId, role: row.role as Role, host, csrf: csrfFor(id) };
}

/**
 * Whether a state-changing request may proceed: same-origin (Origin, else Sec-Fetch-Site,
 * when the browser sent them) and, once signed in, carrying the session's CSRF token.
 */
export function sameSiteRequest(c: Context<AppEnv>): boolean {
  const origin = c.req.header('origin');
  if (origin && origin !== 'null') {
    const self = new URL(c.req.url);
    const publicOrigin = c.var.services.config.PUBLIC_URL ? new URL(c.var.services.config.PUBLIC_URL).origin : null;
    if (origin !== self.origin && origin !== publicOrigin && new URL(origin).host !== c.req.header('host')) return false;
  } else if (origin === 'null') {
    return false;
  }
  const site = c.req.header('sec-fetch-site');
  return !site || site === 'same-origin' || site === 'none';
}

/** Constant-time check of a submitted CSRF token. */
export function csrfMatches(user: ConsoleUser, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(submitted);
  const b = Buffer.from(user.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}
