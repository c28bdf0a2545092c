/** GET /v1/events: drift and health events, newest first, filtered and paged by id. */
import { createRoute, z } from '@hono/zod-openapi';
import { sql, type SQL } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { requireRole } from '../http/auth.js';
import { ApiError } from '../errors.js';
import type { App } from '../context.js';
import { deviceIdParam, vmfsUuidParam } from '../http/params.js';
import { eventView } from '../read/volumes.js';
import { READ_ERRORS } from '../schemas/common.js';
import { EventSchema } from '../schemas/catalog.js';

export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;

const listRoute = createRoute({
  method: 'get', path: '/v1/events', tags: ['catalog'], security: [{ bearer: [] }],
  summary: 'Drift and health events (lun-id-changed, device-id-changed, partition-missing, …), newest first',
  middleware: [requireRole('operator')] as const,
  request: {
    query: z.object({
      type: z.string().max(100).optional(),
      severity: z.enum(['info', 'warning', 'critical']).optional(),
      host: z.string().max(255).optional(),
      vmfsUuid: z.string().max(100).optional().openapi({ description: 'Any spelling' }),
      deviceId: z.string().max(300).optional().openapi({ description: 'Any spelling, or a vml.' }),
      acknowledged: z.enum(['true', 'false']).optional(),
      since: z.string().optional().openapi({ description: 'ISO 8601; events created at or after' }),
      until: z.string().optional().openapi({ description: 'ISO 8601; events created before' }),
      before: z.coerce.number().int().positive().optional().openapi({ description: 'Page: only events with an id below this (`nextBefore` of the previous page)' }),
      limit: z.coerce.number().int().min(1).max(MAX_EVENT_LIMIT).optional(),
    }),
  },
  responses: {
    200: {
      description: 'Events',
      content: { 'application/json': { schema: z.object({ events: z.array(EventSchema), nextBefore: z.number().nullable() }) } },
    },
    ...READ_ERRORS,
  },
});

function time(name: string, value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new ApiError('bad_request', `${name}: not an ISO 8601 time: ${JSON.stringify(value.slice(0, 60))}`);
  return d.toISOString();
}

/** Registers GET /v1/events. */
export function registerEventRoutes(app: App): void {
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const where: SQL[] = [];
    if (q.type) where.push(sql`type = ${q.type}`);
    if (q.severity) where.push(sql`severity = ${q.severity}`);
    if (q.host) where.push(sql`host = ${q.host}`);
    if (q.vmfsUuid) where.push(sql`vmfs_uuid = ${vmfsUuidParam(q.vmfsUuid)}`);
    if (q.deviceId) where.push(sql`device_id = ${deviceIdParam(q.deviceId).deviceId}`);
    if (q.acknowledged) where.push(sql`acknowledged = ${q.acknowledged === 'true'}`);
    if (q.since) where.push(sql`created_at >= ${time('since', q.since)}`);
    if (q.until) where.push(sql`created_at < ${time('until', q.until)}`);
    if (q.before) where.push(sql`id < ${q.before}`);
    const limit = q.limit ?? DEFAULT_EVENT_LIMIT;
    const rows = await queryRows<Record<string, unknown>>(c.var.services.db, sql`
      SELECT * FROM events ${where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
       ORDER BY id DESC LIMIT ${limit + 1}`);
    const events = rows.slice(0, limit).map(eventView);
    return c.json({ events, nextBefore: rows.length > limit ? events[events.length - 1].id : null }, 200);
  });
}
