/** Admin: rebuild the catalog from the store's manifests, re-parse stored artifacts. */
import { createRoute, z } from '@hono/zod-openapi';
import { ARTIFACT_KINDS } from '../../formats/types.js';
import { requireRole } from '../http/auth.js';
import type { App } from '../context.js';
import { recordAudit } from '../http/audit.js';
import { rebuildCatalog, reindexArtifacts } from '../admin/rebuild.js';
import { RebuildResult, ReindexResult } from '../schemas/admin.js';
import { ADMIN_ERRORS, err } from '../schemas/common.js';

const rebuild = createRoute({
  method: 'post',
  path: '/v1/admin/rebuild',
  operationId: 'rebuildCatalog',
  tags: ['admin'],
  security: [{ bearer: [] }],
  summary: 'Recreate every capture the catalog lacks from the manifests in the store',
  middleware: [requireRole('admin')] as const,
  responses: {
    200: { description: 'Counts', content: { 'application/json': { schema: RebuildResult } } },
    ...ADMIN_ERRORS,
  },
});

const reindex = createRoute({
  method: 'post',
  path: '/v1/admin/reindex',
  operationId: 'reindexArtifacts',
  tags: ['admin'],
  security: [{ bearer: [] }],
  summary: 'Re-parse stored artifacts (all, or one kind) and replace their catalog rows',
  middleware: [requireRole('admin')] as const,
  request: { query: z.object({ kind: z.enum(ARTIFACT_KINDS).optional() }) },
  responses: {
    200: { description: 'Counts', content: { 'application/json': { schema: ReindexResult } } },
    ...ADMIN_ERRORS,
    400: err('Unknown kind'),
  },
});

/** Registers POST /v1/admin/rebuild and POST /v1/admin/reindex. */
export function registerAdminRoutes(app: App): void {
  app.openapi(rebuild, async (c) => {
    const result = await rebuildCatalog(c.var.services);
    await recordAudit(c, 'rebuild', 'catalog', { captures: result.captures, skipped: result.skipped, errors: result.errors.length });
    return c.json(result, 200);
  });
  app.openapi(reindex, async (c) => {
    const { kind } = c.req.valid('query');
    const result = await reindexArtifacts(c.var.services, { kind });
    await recordAudit(c, 'reindex', kind ?? 'all', { artifacts: result.artifacts, ok: result.ok, error: result.error });
    return c.json(result, 200);
  });
}
