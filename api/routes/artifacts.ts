/**
 * One artifact: its metadata, and its bytes — streamed from the chunks, never
 * buffered whole, with ETag = SHA-256, the original file name, single-range
 * requests and If-None-Match. `?redirect=1` assembles the object in the store and
 * answers 302 to a presigned GET (for runtimes that cap response sizes, e.g. Lambda).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { artifactContent, getArtifact } from '../read/artifacts.js';
import { requireRole } from '../http/auth.js';
import { ApiError } from '../errors.js';
import type { App } from '../context.js';
import { recordAudit } from '../http/audit.js';
import { artifactBytes, assembleObject, toWebStream } from '../read/content.js';
import { etagMatches, parseRange } from '../http/range.js';
import { attachmentDisposition } from '../store/content-disposition.js';
import { READ_ERRORS, err } from '../schemas/common.js';
import { ArtifactSchema } from '../schemas/catalog.js';

/** How long a redirect's presigned GET stays valid. */
export const DOWNLOAD_URL_TTL_SECONDS = 15 * 60;

const idParam = z.object({ id: z.string().min(1).max(100).openapi({ description: 'Artifact id' }) });

const getArtifactRoute = createRoute({
  method: 'get',
  path: '/v1/artifacts/{id}',
  operationId: 'getArtifact',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: "An artifact's metadata and what the parser found in it",
  middleware: [requireRole('operator')] as const,
  request: { params: idParam },
  responses: { 200: { description: 'The artifact', content: { 'application/json': { schema: ArtifactSchema } } }, ...READ_ERRORS },
});

const contentRoute = createRoute({
  method: 'get',
  path: '/v1/artifacts/{id}/content',
  operationId: 'getArtifactContent',
  tags: ['catalog'],
  security: [{ bearer: [] }],
  summary: "The artifact's original bytes (streamed; Range, If-None-Match; ?redirect=1 for a presigned URL)",
  middleware: [requireRole('operator')] as const,
  request: {
    params: idParam,
    query: z.object({
      redirect: z.enum(['0', '1', 'true', 'false']).optional().openapi({ description: '1: answer 302 to a presigned GET of the assembled object' }),
    }),
    headers: z.object({
      range: z.string().optional().openapi({ description: 'One byte range, e.g. `bytes=0-511`' }),
      'if-none-match': z.string().optional(),
      'if-range': z.string().optional(),
    }),
  },
  responses: {
    200: { description: 'The bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    206: { description: 'The requested range', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    302: { description: 'Redirect to a presigned GET of the bytes' },
    304: { description: 'Not modified (If-None-Match names the SHA-256)' },
    416: err('Range not satisfiable'),
    ...READ_ERRORS,
  },
});

/** Registers the artifact routes. */
export function registerArtifactRoutes(app: App): void {
  app.openapi(getArtifactRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db } = c.var.services;
    const artifact = await getArtifact(db, id);
    if (!artifact) throw new ApiError('not_found', `no artifact ${id}`);
    return c.json(artifact, 200);
  });

  app.openapi(contentRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { redirect } = c.req.valid('query');
    const { db, store, logger } = c.var.services;
    const found = await artifactContent(db, id);
    if (!found) throw new ApiError('not_found', `no artifact ${id}`);
    const { sha256, size, fileName, chunks } = found;
    const etag = `"${sha256}"`;
    const common: Record<string, string> = {
      ETag: etag,
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'private, no-cache',
      'Content-Disposition': attachmentDisposition(fileName),
    };
    if (etagMatches(c.req.header('if-none-match'), sha256)) return c.body(null, 304, common);

    if (redirect === '1' || redirect === 'true') {
      // Content-addressed: one assembled object per distinct artifact content.
      const key = `bundles/artifacts/${sha256}`;
      if (!(await store.head(key))) await assembleObject(store, key, artifactBytes(store, chunks));
      const signed = await store.presignGet(key, { expiresInSeconds: DOWNLOAD_URL_TTL_SECONDS, fileName });
      await recordAudit(c, 'download', id, { fileName, sha256, size, redirect: true });
      return c.redirect(signed.url, 302);
    }

    let range = parseRange(c.req.header('range'), size);
    const ifRange = c.req.header('if-range');
    // If-Range with another validator: the client's partial copy is stale, send it all.
    if (range && ifRange && !etagMatches(ifRange, sha256)) range = null;
    if (range === 'unsatisfiable') {
      c.header('Content-Range', `bytes */${size}`);
      throw new ApiError('range_not_satisfiable', `range ${c.req.header('range')} is outside the artifact's ${size} bytes`);
    }
    if (c.req.method !== 'HEAD') {
      await recordAudit(c, 'download', id, { fileName, sha256, size, ...(range ? { range: `${range.start}-${range.end}` } : {}) });
    }
    const body = toWebStream(artifactBytes(store, chunks, range ?? undefined), (e) => {
      logger.error('artifact stream failed', { requestId: c.var.requestId, artifactId: id, err: e instanceof Error ? e.message : String(e) });
    });
    const headers: Record<string, string> = { ...common, 'Content-Type': 'application/octet-stream' };
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
      headers['Content-Length'] = String(range.end - range.start + 1);
      return c.body(body, 206, headers);
    }
    headers['Content-Length'] = String(size);
    return c.body(body, 200, headers);
  });
}
