/** GET /v1/events: drift and health events, newest first, filtered and paged by id; POST …/{id}/ack acknowledges one. */
import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT, ackNote, acknowledgeEvent, listEvents } from '../read/events.js';
import { recordAudit } from '../http/audit.js';
import { requireRole } from '../http/auth.js';
import { bodyLimit } from '../http/body-limit.js';
import { ApiError } from '../errors.js';
import type { App } from '../context.js';
import { deviceIdParam, timeParam, vmfsUuidParam } from '../http/params.js';
import { ADMIN_ERRORS, err, READ_ERRORS } from '../schemas/common.js';
import { EventSchema } from '../schemas/catalog.js';
import { runEventChecks } from '../events/checks.js';
import { EVENT_TYPES } from '../events/types.js';

const scanRoute = createRoute({
  method: 'post',
  path: '/v1/admin/events/scan',
  operationId: 'scanEvents',
  tags: ['admin'],
  security: [{ bearer: [] }],
  summary: 'Run the scheduled event checks now: host-stale, the cross-host health events, due webhook deliveries',
  middleware: [requireRole('admin')] as const,
  responses: {
    200: {
      description: 'What the scan raised, resolved and delivered',
      content: {
        'application/json': {
          schema: z
            .object({
              raised: z.number(),
              resolved: z.number(),
              webhooks: z.object({ delivered: z.number(), failed: z.number() }),
            })
            .openapi('EventScan'),
        },
      },
    },
    ...ADMIN_ERRORS,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/events',
  operationId: 'listEvents',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: 'Drift and health events (lun-id-changed, device-id-changed, partition-missing, …), newest first',
  middleware: [requireRole('operator')] as const,
  request: {
    query: z.object({
      type: z.enum(EVENT_TYPES).optional().openapi({ description: 'One event type; another name is a 400, as for severity and status' }),
      severity: z.enum(['info', 'warning', 'critical']).optional(),
      host: z.string().max(255).optional(),
      vmfsUuid: z.string().max(100).optional().openapi({
        description: "Any spelling; the volume's events are those raised on it and on its devices (an LU's backing-store-missing), as its page lists them",
      }),
      deviceId: z.string().max(300).optional().openapi({ description: 'Any spelling, or a vml.' }),
      acknowledged: z.enum(['true', 'false']).optional(),
      status: z
        .enum(['open', 'acknowledged', 'resolved'])
        .optional()
        .openapi({ description: 'open: neither acknowledged nor resolved; acknowledged; resolved: a later capture or scan found the condition gone' }),
      since: z.string().optional().openapi({ description: 'ISO 8601; events created at or after' }),
      until: z.string().optional().openapi({ description: 'ISO 8601; events created before' }),
      before: z.coerce
        .number()
        .int()
        .positive()
        .optional()
        .openapi({ description: 'Page: only events with an id below this (`nextBefore` of the previous page)' }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_EVENT_LIMIT)
        .optional()
        .openapi({ description: `At most this many events (default ${DEFAULT_EVENT_LIMIT}); the next page: \`before\`` }),
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

/**
 * An ack's body holds a note of at most 2000 characters (12,000 bytes of JSON at worst, each
 * escaped): held to the 64 MiB POST bodies once shared, 64 MiB of `{},` in a field the route
 * ignores was parsed whole, twice, for 1.5 GB of heap and tens of seconds of the event loop.
 * The app's limit for every such route is now as small (SMALL_BODY_MAX_BYTES); this one stays
 * the ack's own.
 */
export const ACK_BODY_MAX_BYTES = 16 * 1024;

const ackRoute = createRoute({
  method: 'post',
  path: '/v1/events/{id}/ack',
  operationId: 'acknowledgeEvent',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: 'Acknowledge an event, with a note saying what was done about it',
  middleware: [
    requireRole('operator'),
    bodyLimit({
      maxSize: ACK_BODY_MAX_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', `an ack's body is at most ${ACK_BODY_MAX_BYTES} bytes (its note at most 2000 characters)`);
      },
    }),
  ] as const,
  request: {
    params: z.object({ id: z.coerce.number().int().positive().openapi({ description: 'Event id' }) }),
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.object({ note: z.string().max(2000).optional().openapi({ example: 'LUN renumbered on purpose during the SAN move' }) }),
        },
      },
    },
  },
  responses: {
    200: { description: 'The acknowledged event', content: { 'application/json': { schema: EventSchema } } },
    ...READ_ERRORS,
    413: err(`The body is over ${ACK_BODY_MAX_BYTES} bytes, as sent or inflated`),
  },
});

function time(name: string, value: string): string {
  return timeParam(name, value).toISOString();
}

/** Registers GET /v1/events, POST /v1/events/{id}/ack and POST /v1/admin/events/scan. */
export function registerEventRoutes(app: App): void {
  app.openapi(scanRoute, async (c) => {
    const result = await runEventChecks(c.var.services);
    await recordAudit(c, 'event-scan', 'events', { raised: result.raised, resolved: result.resolved });
    return c.json(result, 200);
  });
  app.openapi(ackRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.header('content-type')?.includes('application/json') ? c.req.valid('json') : {};
    const note = ackNote(body?.note);
    const event = await acknowledgeEvent(c.var.services.db, id, { tokenId: c.var.principal!.tokenId, at: c.var.services.now(), note });
    if (!event) throw new ApiError('not_found', `no event ${id}`);
    await recordAudit(c, 'event-ack', String(id), note ? { note } : undefined);
    return c.json(event, 200);
  });
  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await listEvents(c.var.services.db, {
      type: q.type,
      severity: q.severity,
      host: q.host,
      vmfsUuid: q.vmfsUuid ? vmfsUuidParam(q.vmfsUuid) : undefined,
      deviceId: q.deviceId ? deviceIdParam(q.deviceId).deviceId : undefined,
      acknowledged: q.acknowledged ? q.acknowledged === 'true' : undefined,
      status: q.status,
      since: q.since ? time('since', q.since) : undefined,
      until: q.until ? time('until', q.until) : undefined,
      before: q.before,
      limit: q.limit ?? DEFAULT_EVENT_LIMIT,
    });
    return c.json(page, 200);
  });
}
