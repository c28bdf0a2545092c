/** Admin: retention runs, store check and scrub, pins (api/retention/). */
import { createRoute, z } from '@hono/zod-openapi';
import { requireRole } from '../http/auth.js';
import { bodyLimit } from '../http/body-limit.js';
import { ApiError } from '../errors.js';
import type { App } from '../context.js';
import { recordAudit } from '../http/audit.js';
import { runRetention } from '../retention/run.js';
import { checkStore } from '../retention/check.js';
import { pinCapture, unpinCapture } from '../retention/pins.js';
import { CheckReport, Pin, PinBody, RetentionReport } from '../schemas/retention.js';
import { ADMIN_ERRORS, err, NOT_JSON } from '../schemas/common.js';

const run = createRoute({
  method: 'post',
  path: '/v1/retention/run',
  operationId: 'runRetention',
  tags: ['admin'],
  security: [{ bearer: [] }],
  summary: 'Apply the GFS retention policy: every capture with its keep reasons or drop; unless a dry run, delete dropped captures and unreferenced chunks',
  middleware: [requireRole('admin')] as const,
  request: { query: z.object({ dry_run: z.enum(['true', 'false']).default('true').describe('true (the default): only say what would happen') }) },
  responses: {
    200: { description: 'The run, recorded', content: { 'application/json': { schema: RetentionReport } } },
    ...ADMIN_ERRORS,
    400: err('Bad parameter'),
  },
});

const check = createRoute({
  method: 'post',
  path: '/v1/admin/check',
  operationId: 'checkStore',
  tags: ['admin'],
  security: [{ bearer: [] }],
  summary: 'Check manifests, rows and chunks against each other; optionally re-hash the next slice of stored chunks',
  middleware: [requireRole('admin')] as const,
  request: {
    query: z.object({
      read_data_subset: z.coerce
        .number()
        .min(0)
        .max(100)
        .optional()
        .describe('Percent of stored chunks to re-read and re-hash, going on where the last check stopped'),
    }),
  },
  responses: {
    200: { description: 'What was found', content: { 'application/json': { schema: CheckReport } } },
    ...ADMIN_ERRORS,
    400: err('Bad parameter'),
  },
});

const CaptureParam = z.object({ id: z.string().regex(/^[0-9A-Fa-f-]{1,64}$/, 'a capture id') });

/**
 * A pin's body is a note of at most 500 characters: more than this is refused before it is read.
 * The app's shared body limits (api/app.ts: 16 KiB, a begin's 64 MiB) hold POST, PATCH and
 * DELETE; a PUT is held by none, so a body of any size was read whole before the note's own check
 * refused it.
 */
export const PIN_BODY_MAX_BYTES = 16 * 1024;

const pin = createRoute({
  method: 'put',
  path: '/v1/captures/{id}/pin',
  operationId: 'pinCapture',
  tags: ['admin'],
  security: [{ bearer: [] }],
  summary: 'Pin a capture: retention keeps it, listed as "pinned: <note>"',
  middleware: [
    requireRole('admin'),
    bodyLimit({
      maxSize: PIN_BODY_MAX_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', `a pin's body is at most ${PIN_BODY_MAX_BYTES} bytes (its note at most 500 characters)`);
      },
    }),
  ] as const,
  request: { params: CaptureParam, body: { content: { 'application/json': { schema: PinBody } }, required: true } },
  responses: {
    200: { description: 'Pinned', content: { 'application/json': { schema: Pin } } },
    ...ADMIN_ERRORS,
    400: err('Bad id or note'),
    404: err('No such committed capture'),
    413: err(`The body is over ${PIN_BODY_MAX_BYTES} bytes`),
    415: NOT_JSON,
  },
});

const unpin = createRoute({
  method: 'delete',
  path: '/v1/captures/{id}/pin',
  operationId: 'unpinCapture',
  tags: ['admin'],
  security: [{ bearer: [] }],
  summary: 'Unpin a capture',
  middleware: [requireRole('admin')] as const,
  request: { params: CaptureParam },
  responses: {
    200: { description: 'Unpinned', content: { 'application/json': { schema: z.object({ captureId: z.string(), pinned: z.boolean() }) } } },
    ...ADMIN_ERRORS,
    400: err('Bad id'),
    404: err('Not pinned'),
  },
});

/** Registers the retention, check and pin routes. */
export function registerRetentionRoutes(app: App): void {
  app.openapi(run, async (c) => {
    const dryRun = c.req.valid('query').dry_run !== 'false';
    const report = await runRetention(c.var.services, { dryRun, ranBy: c.var.principal?.tokenId ?? 'api' });
    await recordAudit(c, dryRun ? 'retention-dry-run' : 'retention', `run ${report.runId}`, {
      kept: report.plan.keep,
      dropped: report.dropped.length,
      chunksDeleted: report.chunksDeleted,
      bytesFreed: report.bytesFreed,
    });
    return c.json(report, 200);
  });
  app.openapi(check, async (c) => {
    const { read_data_subset: percent } = c.req.valid('query');
    const report = await checkStore(c.var.services, { readDataPercent: percent ?? 0 });
    await recordAudit(c, 'check', 'store', { clean: report.clean, corrupt: report.scrub?.corrupt.length ?? 0 });
    return c.json(report, 200);
  });
  app.openapi(pin, async (c) => {
    const { id } = c.req.valid('param');
    const pinned = await pinCapture(c.var.services, id, c.req.valid('json').note, c.var.principal?.tokenId ?? null);
    await recordAudit(c, 'pin', id, { note: pinned.note });
    return c.json(pinned, 200);
  });
  app.openapi(unpin, async (c) => {
    const { id } = c.req.valid('param');
    await unpinCapture(c.var.services, id);
    await recordAudit(c, 'unpin', id);
    return c.json({ captureId: id.toLowerCase(), pinned: false }, 200);
  });
}
