/**
 * Hosts: every collector host with its last committed capture and whether it is
 * stale (no capture within STALE_AFTER_HOURS of the injected clock's now).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { getHost, listHosts } from '../read/hosts.js';
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
  summary: 'Every host with its last capture and staleness',
  middleware: [requireRole('operator')] as const,
  responses: {
    200: { description: 'Hosts by name', content: { 'application/json': { schema: z.object({ hosts: z.array(HostSchema), staleAfterHours: z.number() }) } } },
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
    const { db, config, now } = c.var.services;
    const at = now();
    return c.json({ hosts: await listHosts(db, at, config.STALE_AFTER_HOURS), staleAfterHours: config.STALE_AFTER_HOURS }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { db, config, now } = c.var.services;
    const host = await getHost(db, name, now(), config.STALE_AFTER_HOURS);
    if (!host) throw new ApiError('not_found', `no host ${name}`);
    return c.json(host, 200);
  });
}
