/**
 * Hosts: the collector hosts by name, a page at a time (`after` + `limit`, as the events'
 * `before` + `limit`), each with its last committed capture and whether it is stale (no
 * capture within STALE_AFTER_HOURS of the injected clock's now); one host in detail.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_HOST_LIMIT, getHost, listHosts, MAX_HOST_LIMIT } from '../read/hosts.js';
import { requireRole } from '../http/auth.js';
import { ApiError } from '../errors.js';
import type { App } from '../context.js';
import { READ_ERRORS } from '../schemas/common.js';
import { HostDetailSchema, HostSchema } from '../schemas/catalog.js';

const listRoute = createRoute({
  method: 'get',
  path: '/v1/hosts',
  operationId: 'listHosts',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: 'The hosts, by name, a page at a time, each with its last capture and staleness',
  middleware: [requireRole('operator')] as const,
  request: {
    query: z.object({
      after: z.string().min(1).max(255).optional().openapi({
        description: 'Page: only hosts named after this one, by name (`nextAfter` of the previous page); an empty one is a 400, as a limit out of range is',
      }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_HOST_LIMIT)
        .optional()
        .openapi({ description: `At most this many hosts (default ${DEFAULT_HOST_LIMIT}); the next page: \`after\`` }),
    }),
  },
  responses: {
    200: {
      description: 'A page of hosts by name, and the `after` of the next page (null on the last)',
      content: {
        'application/json': {
          schema: z.object({ hosts: z.array(HostSchema), nextAfter: z.string().nullable(), staleAfterHours: z.number() }),
        },
      },
    },
    ...READ_ERRORS,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/hosts/{name}',
  operationId: 'getHost',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: 'One host: captures, last artifacts, volumes seen, LUs presented, events',
  middleware: [requireRole('operator')] as const,
  request: { params: z.object({ name: z.string().min(1).max(255) }) },
  responses: { 200: { description: 'The host', content: { 'application/json': { schema: HostDetailSchema } } }, ...READ_ERRORS },
});

/** Registers GET /v1/hosts and GET /v1/hosts/{name}. */
export function registerHostRoutes(app: App): void {
  app.openapi(listRoute, async (c) => {
    const { after, limit } = c.req.valid('query');
    const { db, config, now } = c.var.services;
    const page = await listHosts(db, now(), config.STALE_AFTER_HOURS, { after: after ?? null, limit: limit ?? DEFAULT_HOST_LIMIT });
    return c.json({ ...page, staleAfterHours: config.STALE_AFTER_HOURS }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { db, config, now } = c.var.services;
    const host = await getHost(db, name, now(), config.STALE_AFTER_HOURS);
    if (!host) throw new ApiError('not_found', `no host ${name}`);
    return c.json(host, 200);
  });
}
