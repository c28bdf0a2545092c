/** Liveness and readiness; no token needed. */
import { randomBytes } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { App, Services } from '../context.js';
import { RETRY_AFTER_SECONDS, describeError } from '../errors.js';
import { Health, PATH_ERROR, RETRY_AFTER_HEADER } from '../schemas/common.js';

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  summary: 'Liveness: the process answers',
  security: [],
  tags: ['health'],
  responses: { 200: { description: 'The process answers', content: { 'application/json': { schema: Health } } }, 400: PATH_ERROR },
});
const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'getReadiness',
  security: [],
  tags: ['health'],
  summary: 'Ready: the database answers, and the store takes, returns and deletes a probe object, within READY_TIMEOUT_MS',
  responses: {
    200: { description: 'Database and store work', content: { 'application/json': { schema: Health } } },
    400: PATH_ERROR,
    503: {
      description: 'The database or the store does not work (or not in time); ask again after Retry-After seconds',
      headers: RETRY_AFTER_HEADER,
      content: { 'application/json': { schema: Health } },
    },
  },
});

/** Where readiness probes are written (one object per probe, deleted at once). */
export const PROBE_PREFIX = 'probes/';

class ProbeTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** `work` or a ProbeTimeout after `ms`, whichever comes first (the work is left to finish on its own). */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout(ms)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes, reads back and deletes one small object: a store that lists but cannot write is not ready. */
export async function probeStore(store: Services['store']): Promise<void> {
  const key = `${PROBE_PREFIX}readyz-${randomBytes(8).toString('hex')}`;
  const body = new TextEncoder().encode(`readyz ${new Date().toISOString()}\n`);
  await store.put(key, body);
  try {
    const back = await store.getBytes(key);
    if (!back || Buffer.compare(Buffer.from(back), Buffer.from(body)) !== 0) throw new Error('the probe object read back differs from what was written');
  } finally {
    await store.delete(key);
  }
}

function summary(e: unknown): string {
  const d = describeError(e);
  return String(d.dbMessage ?? d.error ?? 'failed').slice(0, 200);
}

/** Registers /healthz and /readyz. */
export function registerHealthRoutes(app: App): void {
  app.openapi(healthz, (c) => c.json({ status: 'ok' }, 200));
  app.openapi(readyz, async (c) => {
    const { db, store, logger, config } = c.var.services;
    const ms = config.READY_TIMEOUT_MS;
    const checks: Record<string, string> = {};
    await Promise.all([
      within(ms, db.execute(sql`select 1`)).then(
        () => {
          checks.database = 'ok';
        },
        (e) => {
          checks.database = `unavailable: ${summary(e)}`;
          logger.warn('readyz: database', { requestId: c.var.requestId, ...describeError(e) });
        },
      ),
      within(ms, probeStore(store)).then(
        () => {
          checks.store = 'ok';
        },
        (e) => {
          checks.store = `unavailable: ${summary(e)}`;
          logger.warn('readyz: store', { requestId: c.var.requestId, store: store.kind, ...describeError(e) });
        },
      ),
    ]);
    const ok = checks.database === 'ok' && checks.store === 'ok';
    if (!ok) c.header('retry-after', String(RETRY_AFTER_SECONDS));
    return c.json({ status: ok ? 'ready' : 'not ready', checks }, ok ? 200 : 503);
  });
}
