/** Liveness and readiness; no token needed. */
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { App } from '../context.js';

const Health = z.object({ status: z.string(), checks: z.record(z.string(), z.string()).optional() }).openapi('Health');

const healthz = createRoute({
  method: 'get', path: '/healthz', tags: ['health'],
  responses: { 200: { description: 'The process answers', content: { 'application/json': { schema: Health } } } },
});
const readyz = createRoute({
  method: 'get', path: '/readyz', tags: ['health'],
  responses: {
    200: { description: 'Database and store reachable', content: { 'application/json': { schema: Health } } },
    503: { description: 'Something is not reachable', content: { 'application/json': { schema: Health } } },
  },
});

/** Registers /healthz and /readyz. */
export function registerHealthRoutes(app: App): void {
  app.openapi(healthz, (c) => c.json({ status: 'ok' }, 200));
  app.openapi(readyz, async (c) => {
    const { db, store, logger } = c.var.services;
    const checks: Record<string, string> = {};
    try { await db.execute(sql`select 1`); checks.database = 'ok'; } catch (e) { checks.database = 'unreachable'; logger.warn('readyz: database', { err: String(e) }); }
    try { await store.check(); checks.store = 'ok'; } catch (e) { checks.store = 'unreachable'; logger.warn('readyz: store', { err: String(e) }); }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return c.json({ status: ok ? 'ready' : 'not ready', checks }, ok ? 200 : 503);
  });
}
