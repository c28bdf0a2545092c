/** The audit trail: who downloaded, bundled, created or revoked what, when, from where. */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { audit } from '../../db/schema.js';
import type { AppEnv } from '../context.js';

function remoteAddr(c: Context<AppEnv>): string | null {
  const forwarded = c.req.header('x-forwarded-for');
  if (forwarded) return forwarded.split(',')[0].trim();
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // Lambda and app.request() have no socket
  }
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
