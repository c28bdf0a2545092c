/**
 * Optional webhooks (WEBHOOK_URL) from a durable outbox. A delivery row is written in the
 * transaction that raised or resolved the event, so nothing is lost between a commit and a
 * crash; it is sent after that transaction commits (`kickDelivery`, never awaited by the
 * request) and by the scheduled run (`deliverDue`), and retried with exponential backoff.
 * A receiver that is down never blocks or fails a commit.
 *
 * Request: `POST WEBHOOK_URL`, `content-type: application/json`, body
 * `{"type":"event.raised"|"event.resolved","event":{…the Event of GET /v1/events…}}`, headers
 * `X-Catalog-Event` (the type), `X-Catalog-Delivery` (the outbox id; a retry repeats it) and,
 * with WEBHOOK_SECRET, `X-Catalog-Signature-256: sha256=<hex HMAC-SHA256 of the body bytes
 * keyed by the secret>`. Any 2xx answer counts as delivered.
 */
import { createHmac } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import type { Config } from '../config.js';
import type { Services } from '../context.js';
import { inList } from '../read/rows.js';
import { eventView } from '../read/volumes.js';

export type WebhookType = 'event.raised' | 'event.resolved';

/** First retry after this, doubling up to BACKOFF_MAX_MS. */
export const BACKOFF_BASE_MS = 30_000;
export const BACKOFF_MAX_MS = 6 * 3_600_000;
/** Tries per delivery; after the last one the row stays with its last error and is not sent again. */
export const MAX_ATTEMPTS = 24;
/** A delivery being sent is not picked again by another pass for this long. */
const LEASE_MS = 5 * 60_000;
const SEND_TIMEOUT_MS = 10_000;
const PASS_LIMIT = 200;

/** Milliseconds to wait before try `attempts + 1`, after `attempts` failed tries. */
export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_MS);
}

/**
 * Where a delivery goes, and its Basic credentials. fetch refuses a URL that holds a user or
 * password (`TypeError: Request cannot be constructed from a URL that includes credentials`),
 * so a receiver behind Basic auth (`https://user:pass@hooks.example/…`) got every delivery
 * failed as "not delivered: TypeError" until its 24 tries ran out. They go in the header
 * instead, as curl sends them.
 */
export function webhookTarget(webhookUrl: string): { url: string; authorization: string | null } {
  const url = new URL(webhookUrl);
  if (!url.username && !url.password) return { url: webhookUrl, authorization: null };
  // A stray % (no %XX escape) is taken as written, as curl does.
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const credentials = `${decode(url.username)}:${decode(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

/** The signature header's value for a body. */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

type Row = Record<string, unknown>;

/** Writes one outbox row per event (in the caller's transaction); nothing without WEBHOOK_URL. */
export async function enqueueEvents(tx: Db, config: Pick<Config, 'WEBHOOK_URL'>, at: Date, type: WebhookType, eventIds: number[]): Promise<number> {
  if (!config.WEBHOOK_URL || eventIds.length === 0) return 0;
  const rows = await queryRows<Row>(tx, sql`SELECT * FROM events WHERE id IN ${inList(eventIds)} ORDER BY id`);
  for (const r of rows) {
    const event = eventView(r);
    const body = JSON.stringify({ type, event });
    await queryRows(
      tx,
      sql`
      INSERT INTO webhook_outbox (event_id, body, created_at, attempts, next_attempt_at)
      VALUES (${event.id}, ${body}, ${at.toISOString()}, 0, ${at.toISOString()})`,
    );
  }
  return rows.length;
}

/** Queues the events a committed capture's drift raised (artifact events; health events are queued where they are raised). */
export async function enqueueCaptureEvents(tx: Db, config: Pick<Config, 'WEBHOOK_URL'>, at: Date, captureId: string): Promise<number> {
  if (!config.WEBHOOK_URL) return 0;
  const rows = await queryRows<Row>(tx, sql`SELECT id FROM events WHERE capture_id = ${captureId} AND condition IS NULL ORDER BY id`);
  return enqueueEvents(
    tx,
    config,
    at,
    'event.raised',
    rows.map((r) => Number(r.id)),
  );
}

export interface DeliveryPass {
  delivered: number;
  failed: number;
}

/** Sends every due delivery once (oldest first); each failure is rescheduled with backoff. */
export async function deliverDue(services: Pick<Services, 'db' | 'config' | 'logger' | 'now'>): Promise<DeliveryPass> {
  const { db, config, logger, now } = services;
  const pass: DeliveryPass = { delivered: 0, failed: 0 };
  if (!config.WEBHOOK_URL) return pass;
  const { url, authorization } = webhookTarget(config.WEBHOOK_URL);
  for (let i = 0; i < PASS_LIMIT; i++) {
    const at = now();
    // Claimed by moving its next attempt past a lease: a concurrent pass skips it.
    const [row] = await queryRows<Row>(
      db,
      sql`
      UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ${new Date(at.getTime() + LEASE_MS).toISOString()}
       WHERE id = (SELECT id FROM webhook_outbox
                    WHERE delivered_at IS NULL AND next_attempt_at <= ${at.toISOString()} AND attempts < ${MAX_ATTEMPTS}
                    ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, body, attempts`,
    );
    if (!row) break;
    const id = Number(row.id);
    const body = String(row.body);
    const attempts = Number(row.attempts);
    let status: number | null = null;
    let error: string | null = null;
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'vmfs-recovery-catalog-webhook',
        'x-catalog-event': (JSON.parse(body) as { type: string }).type,
        'x-catalog-delivery': String(id),
      };
      if (config.WEBHOOK_SECRET) headers['x-catalog-signature-256'] = signatureOf(config.WEBHOOK_SECRET, body);
      if (authorization) headers.authorization = authorization;
      const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status < 200 || status > 299) error = `the receiver answered ${status}`;
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      error = `not delivered: ${(e as Error).name}${cause?.code ? ` (${cause.code})` : ''}`;
    }
    const done = now();
    if (!error) {
      await queryRows(db, sql`UPDATE webhook_outbox SET delivered_at = ${done.toISOString()}, last_status = ${status}, last_error = NULL WHERE id = ${id}`);
      pass.delivered++;
    } else {
      const next = new Date(done.getTime() + backoffMs(attempts));
      await queryRows(
        db,
        sql`
        UPDATE webhook_outbox SET next_attempt_at = ${next.toISOString()}, last_status = ${status}, last_error = ${error} WHERE id = ${id}`,
      );
      pass.failed++;
      // The receiver's address may hold credentials: the log names the delivery, never the URL.
      logger.warn('webhook delivery failed', { delivery: id, attempts, error, nextAttemptAt: next.toISOString() });
    }
  }
  return pass;
}

const running = new WeakMap<object, Promise<void>>();

/**
 * Starts a delivery pass in the background after the current one (if any) ends. Never
 * throws and is not awaited by the request that calls it.
 */
export function kickDelivery(services: Pick<Services, 'db' | 'config' | 'logger' | 'now'>): void {
  if (!services.config.WEBHOOK_URL) return;
  const previous = running.get(services.db) ?? Promise.resolve();
  const next = previous
    .then(() => deliverDue(services))
    .then(
      () => undefined,
      (e: unknown) => services.logger.warn('webhook delivery pass failed', { error: e instanceof Error ? e.message : String(e) }),
    );
  running.set(services.db, next);
}

/** Resolves when the background delivery passes started so far have ended (tests, shutdown). */
export function deliveriesSettled(services: Pick<Services, 'db'>): Promise<void> {
  return running.get(services.db) ?? Promise.resolve();
}
