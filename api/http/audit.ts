/** The audit trail: who downloaded, bundled, created or revoked what, when, from where. */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { audit } from '../../db/schema.js';
import type { AppEnv } from '../context.js';

/** What hono/aws-lambda puts in `c.env.requestContext` (REST API v1 and HTTP API v2 events). */
interface LambdaRequestContext {
  identity?: { sourceIp?: string };
  http?: { sourceIp?: string };
}

/**
 * The address of whatever opened the connection: the Node socket's peer, or on Lambda the
 * API Gateway event's sourceIp (read directly: hono's own Lambda helper would fall back to
 * X-Forwarded-For, which is not ours to trust here). Null where there is neither (app.request()).
 */
function peerAddr(c: Context<AppEnv>): string | null {
  const env = c.env as { incoming?: unknown; requestContext?: LambdaRequestContext } | undefined;
  if (env?.requestContext) return env.requestContext.identity?.sourceIp ?? env.requestContext.http?.sourceIp ?? null;
  if (!env?.incoming) return null;
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

/**
 * The client address an audit row records. X-Forwarded-For is any client's to write, so it
 * counts only with TRUST_PROXY=true (the catalog is reachable only through a proxy that adds
 * the header); then its last entry — the one that proxy appended for the peer it saw — is used,
 * as entries before it came from the client. Otherwise, and when the header is absent, the peer.
 */
export function remoteAddr(c: Context<AppEnv>): string | null {
  if (c.var.services.config.TRUST_PROXY) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (hops.length > 0) return hops[hops.length - 1];
  }
  return peerAddr(c);
}

/** Writes one audit row for the current request's principal. */
export async function recordAudit(c: Context<AppEnv>, action: string, subject: string, details?: Record<string, unknown>): Promise<void> {
  const { db, now } = c.var.services;
  const principal = c.var.principal;
  await db.insert(audit).values({
    at: now(),
    tokenId: principal?.tokenId ?? null,
    role: principal?.role ?? null,
    action,
    subject,
    remoteAddr: remoteAddr(c),
    requestId: c.var.requestId,
    details: details ?? null,
  });
}
