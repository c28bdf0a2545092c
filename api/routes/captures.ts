/** Ingest: begin a capture (which chunks to upload where) and commit it (verify, parse, index). */
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ARTIFACT_KINDS } from '../../formats/types.js';
import type { BeginRequest } from '../../formats/protocol.js';
import { requireRole } from '../http/auth.js';
import { annotateError } from '../errors.js';
import type { App, AppEnv } from '../context.js';
import { beginCapture } from '../ingest/begin.js';
import { commitCapture } from '../ingest/commit.js';
import { FILE_NAME_RULE, HOST_NAME_RULE, LIMITS, precheckBeginCounts } from '../ingest/limits.js';
import { ErrorSchema } from './schemas.js';

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const UUID = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');
const Size = z.number().int().nonnegative();

const ChunkRef = z.object({
  sha256: SHA256.describe('SHA-256 of the uncompressed bytes: the chunk\'s name'),
  size: Size.describe('Uncompressed size, at most 1 MiB'),
  encoding: z.enum(['identity', 'gzip']).optional(),
  storedSize: Size.optional(),
  storedSha256: SHA256.optional(),
  storedMd5: z.string().regex(/^[A-Za-z0-9+/]{22}==$/, 'must be a base64 MD5').optional()
    .describe('Base64 MD5 of the bytes as uploaded; required when the catalog stores chunks in S3'),
}).openapi('ChunkRef');

const ArtifactRef = z.object({
  kind: z.enum(ARTIFACT_KINDS),
  fileName: z.string().describe(`File name: ${FILE_NAME_RULE}`),
  sourcePath: z.string().describe(`Where the bytes were read, at most ${LIMITS.sourcePathBytes} bytes`),
  device: z.string().nullable().optional().describe(`At most ${LIMITS.deviceBytes} bytes`),
  size: Size,
  sha256: SHA256,
  chunks: z.array(ChunkRef).describe(`At most ${LIMITS.chunksPerArtifact} per artifact and ${LIMITS.chunksPerCapture} per capture`),
}).openapi('ArtifactRef');

const BeginRequestSchema = z.object({
  captureId: UUID.describe('UUIDv7 chosen by the collector; repeating begin with it is harmless'),
  host: z.object({
    name: z.string().describe(`Host name: ${HOST_NAME_RULE}`),
    kind: z.enum(['esx', 'esxi', 'solaris', 'linux']),
    systemUuid: z.string().nullable().optional(),
  }),
  collectedAt: z.string().datetime({ offset: true }),
  collector: z.object({ version: z.string().min(1) }),
  artifacts: z.array(ArtifactRef).describe(`At most ${LIMITS.artifactsPerCapture}`),
}).openapi('BeginRequest');

const UploadTarget = z.object({
  sha256: z.string(), encoding: z.enum(['identity', 'gzip']), method: z.literal('PUT'), url: z.string(),
  headers: z.record(z.string(), z.string()), expiresAt: z.string(),
}).openapi('UploadTarget');

const BeginResponse = z.object({
  captureId: z.string(), state: z.enum(['open', 'committed']),
  missing: z.array(UploadTarget).describe('Chunks the store lacks, each with where to PUT it'),
  present: z.array(z.string()).describe('Chunk hashes the store already holds'),
}).openapi('BeginResponse');

const ArtifactSummary = z.object({
  id: z.string(), kind: z.string(), fileName: z.string(), parseStatus: z.enum(['ok', 'error', 'opaque']),
  parseError: z.object({ code: z.string(), message: z.string() }).nullable(),
  found: z.record(z.string(), z.array(z.string())).describe('Ids found: vmfsUuid, deviceId, vml, iqn, backingStore, …'),
}).openapi('ArtifactSummary');

const CommitResponse = z.object({
  captureId: z.string(), state: z.literal('committed'), committedAt: z.string(), manifestKey: z.string(),
  artifacts: z.array(ArtifactSummary),
}).openapi('CommitResponse');

const err = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

/** The counting limits, checked on the parsed JSON before it is validated (a 100,000-chunk request is refused cheaply). */
const precheckCounts: MiddlewareHandler<AppEnv> = async (c, next) => {
  let body: unknown;
  try { body = await c.req.json(); } catch { body = undefined; }
  precheckBeginCounts(body);
  await next();
};

const begin = createRoute({
  method: 'post', path: '/v1/captures', tags: ['ingest'], security: [{ bearer: [] }],
  summary: 'Begin a capture: announce its artifacts and chunks, get upload URLs for the chunks the store lacks',
  middleware: [requireRole('collector'), precheckCounts] as const,
  request: { body: { content: { 'application/json': { schema: BeginRequestSchema } }, required: true } },
  responses: {
    200: { description: 'The chunks to upload (idempotent on captureId)', content: { 'application/json': { schema: BeginResponse } } },
    400: err('Bad request, or over a limit of the limits table (details.limit names it)'), 401: err('No or bad token'), 403: err('Wrong role or another host'),
    409: err('The capture id is taken by different content'), 413: err('The request body is over the size limit'),
    503: err('The store or the database is unavailable; retry after Retry-After seconds'),
  },
});

const commit = createRoute({
  method: 'post', path: '/v1/captures/{id}/commit', tags: ['ingest'], security: [{ bearer: [] }],
  summary: 'Commit a capture: verify every chunk, parse and index every artifact, write the manifest',
  middleware: [requireRole('collector')] as const,
  request: { params: z.object({ id: UUID }) },
  responses: {
    200: { description: 'Committed (idempotent)', content: { 'application/json': { schema: CommitResponse } } },
    401: err('No or bad token'), 403: err('Wrong role or another host'), 404: err('No such capture'),
    413: err('A chunk inflates past 1 MiB'), 422: err('A chunk is missing or is not what its name says; nothing was indexed'),
    503: err('The store or the database is unavailable; retry after Retry-After seconds'),
  },
});

/** Registers POST /v1/captures and POST /v1/captures/{id}/commit. */
export function registerCaptureRoutes(app: App): void {
  app.openapi(begin, async (c) => {
    const body = c.req.valid('json') as BeginRequest;
    // A failure's log line names the capture (see api/errors.ts annotateError).
    const answer = await beginCapture(c.var.services, c.var.principal!, body).catch((e: unknown) => { throw annotateError(e, { captureId: body.captureId.toLowerCase() }); });
    return c.json(answer, 200);
  });
  app.openapi(commit, async (c) => {
    const id = c.req.valid('param').id.toLowerCase();
    const answer = await commitCapture(c.var.services, c.var.principal!, id).catch((e: unknown) => { throw annotateError(e, { captureId: id }); });
    return c.json(answer, 200);
  });
}
