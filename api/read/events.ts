/** Drift and health events, newest first, filtered and paged by id. */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import type { EventView } from '../schemas/catalog.js';
import { eventView, volumeEventsWhere } from './volumes.js';
import { ApiError } from '../errors.js';
import { CONTROL_CHARS } from '../ingest/limits.js';

export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;

/** Which events to list; ids and times already canonical. */
export interface EventFilter {
  type?: string;
  severity?: string;
  host?: string;
  vmfsUuid?: string;
  deviceId?: string;
  acknowledged?: boolean;
  /** open: neither acknowledged nor resolved; acknowledged; resolved (its condition is gone). */
  status?: 'open' | 'acknowledged' | 'resolved';
  /** ISO 8601: created at or after. */
  since?: string;
  /** ISO 8601: created before. */
  until?: string;
  /** Only ids below this (the previous page's `nextBefore`). */
  before?: number;
  limit: number;
}

/** One page of events and the `before` of the next page (null on the last). */
export async function listEvents(db: Db, f: EventFilter): Promise<{ events: EventView[]; nextBefore: number | null }> {
  const where: SQL[] = [];
  if (f.type) where.push(sql`type = ${f.type}`);
  if (f.severity) where.push(sql`severity = ${f.severity}`);
  if (f.host) where.push(sql`host = ${f.host}`);
  if (f.vmfsUuid) where.push(await volumeEventsWhere(db, f.vmfsUuid));
  if (f.deviceId) where.push(sql`device_id = ${f.deviceId}`);
  if (f.acknowledged !== undefined) where.push(sql`acknowledged = ${f.acknowledged}`);
  if (f.status === 'open') where.push(sql`acknowledged = false AND resolved_at IS NULL`);
  if (f.status === 'acknowledged') where.push(sql`acknowledged = true`);
  if (f.status === 'resolved') where.push(sql`resolved_at IS NOT NULL`);
  if (f.since) where.push(sql`created_at >= ${f.since}`);
  if (f.until) where.push(sql`created_at < ${f.until}`);
  if (f.before) where.push(sql`id < ${f.before}`);
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`
    SELECT * FROM events ${where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
     ORDER BY id DESC LIMIT ${f.limit + 1}`,
  );
  const events = rows.slice(0, f.limit).map(eventView);
  return { events, nextBefore: rows.length > f.limit ? events[events.length - 1].id : null };
}

/** Who acknowledges an event, when, and why. */
export interface Acknowledgement {
  tokenId: string;
  at: Date;
  note: string | null;
}

/**
 * Marks an event acknowledged with a note; null when there is no such event. Acknowledging
 * again keeps the first time and token, and replaces the note only when one is given.
 */
export async function acknowledgeEvent(db: Db, id: number, ack: Acknowledgement): Promise<EventView | null> {
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`
    UPDATE events SET acknowledged = TRUE,
           acknowledged_at = coalesce(acknowledged_at, ${ack.at.toISOString()}),
           acknowledged_by = coalesce(acknowledged_by, ${ack.tokenId}),
           ack_note = coalesce(${ack.note}, ack_note)
     WHERE id = ${id} RETURNING *`,
  );
  return row ? eventView(row) : null;
}

/** The note as kept: trimmed, null when empty; line breaks and tabs allowed, other control characters refused. */
export function ackNote(note: string | undefined): string | null {
  const trimmed = note?.trim();
  if (!trimmed) return null;
  if (CONTROL_CHARS.test(trimmed.replace(/[\r\n\t]/g, ' '))) throw new ApiError('bad_request', 'note: holds a NUL or control character');
  return trimmed;
}
