/** Ingest: begin a capture (which chunks to upload where), send small chunks, and commit it (verify, parse, index). */
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { BeginBody } from '../../formats/protocol.js';
import { requireRole } from '../http/auth.js';
import { bodyLimit } from '../http/body-limit.js';
import { ApiError, annotateError } from '../errors.js';
import type { App, AppEnv } from '../context.js';
import { beginCapture } from '../ingest/begin.js';
import { commitAtBegin, commitOrHandOff } from '../ingest/commit-jobs.js';
import { LIMITS, precheckBeginCounts, precheckBeginText } from '../ingest/limits.js';
import { holdBody } from '../ingest/body-budget.js';
import { admitIngest } from '../ingest/admission.js';
import { BeginRequestSchema, BeginResponse, ChunksReceived, CommitInProgress, CommitResponse, OpenCaptureDropped, UUID } from '../schemas/ingest.js';
import { dropOpenCapture } from '../ingest/staging.js';
import { recordAudit } from '../http/audit.js';
import { CHUNK_BATCH_MAX_BYTES, CHUNK_BATCH_MAX_CHUNKS, receiveChunks, SMALL_CHUNK_MAX_STORED_BYTES } from '../ingest/chunks.js';
import { err, retryLater } from '../schemas/common.js';

/**
 * The counting limits: JSON values on the text before it is parsed (64 MiB of `{},` would hold
 * the heap and the event loop), then artifacts and chunks on the parsed JSON before it is
 * validated (a 100,000-chunk request is refused cheaply).
 */
const precheckCounts: MiddlewareHandler<AppEnv> = async (c, next) => {
  let text: string | undefined;
  try {
    text = await c.req.text();
  } catch {
    text = undefined; // the validator's read says why (a gzip body that does not inflate)
  }
  let body: unknown;
  if (text !== undefined) {
    precheckBeginText(text);
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  precheckBeginCounts(body);
  await next();
};

/**
 * Reads a chunk batch's body before the batch enters the ingest gate (admitIngest), as a begin's
 * is read by precheckCounts: read inside it, 16 batches whose bodies came a few bytes at a time
 * (a request may take 5 minutes to arrive) held every slot, and every other host's begin and
 * commit waited in the queue and was answered 503. The handler's read takes the cached bytes.
 */
const readBatchFirst: MiddlewareHandler<AppEnv> = async (c, next) => {
  await c.req.arrayBuffer();
  await next();
};

/** The 503 of every ingest route: an outage, a full ingest gate (admitIngest) or a full body budget (holdBody). */
const INGEST_UNAVAILABLE = retryLater(
  'The store or the database is unavailable, or the catalog is busy with other captures (its ingest slots, or the request bodies it reads at once, are taken); retry after Retry-After seconds',
);

const begin = createRoute({
  method: 'post',
  path: '/v1/captures',
  operationId: 'beginCapture',
  tags: ['ingest'],
  security: [{ bearer: [] }],
  summary: 'Begin a capture: announce its artifacts and chunks, get upload URLs for the chunks the store lacks',
  middleware: [requireRole('collector'), holdBody(LIMITS.requestBodyBytes), precheckCounts, admitIngest] as const,
  request: {
    headers: z.object({
      prefer: z
        .string()
        .optional()
        .describe(
          '`return=minimal` (RFC 7240): the answer leaves out `present` (the chunks not in `missing`). `commit-if-complete`: when every artifact is declared by `previous` and no chunk is missing (an unchanged run), the begin commits the capture too and answers the commit in `commit` (`Preference-Applied: commit-if-complete`); a capture committed already is answered so too',
        ),
      'content-encoding': z
        .string()
        .optional()
        .describe('`gzip`: the body is gzipped (the collector sends its begin so); inflated, it is held to the same size limit (413)'),
    }),
    body: { content: { 'application/json': { schema: BeginRequestSchema } }, required: true },
  },
  responses: {
    200: {
      description: 'The chunks to upload (idempotent on captureId); with `commit` present, the capture is committed and needs no commit request',
      content: { 'application/json': { schema: BeginResponse } },
    },
    400: err('Bad request, or over a limit of the limits table (details.limit names it)'),
    401: err('No or bad token'),
    403: err(
      "Wrong role or another host, or a host the catalog does not hold yet while the collector token has brought COLLECTOR_TOKEN_HOSTS_MAX (256 by default) hosts into it (counting the new hosts its open captures name; then details.limit is COLLECTOR_TOKEN_HOSTS_MAX); the token's begins for hosts the catalog holds are taken",
    ),
    409: err('The capture id is taken by different content'),
    413: err('The request body is over the size limit, as sent or inflated'),
    415: err('A Content-Encoding other than gzip, or a body not sent as JSON (Content-Type: application/json)'),
    422: err(
      'An artifact declared by `previous` is not one this host committed with the same kind, fileName, sourcePath, device, size and sha256; send its chunks',
    ),
    429: retryLater(
      'The host already has MAX_OPEN_CAPTURES (32) captures begun and not committed within 24 h, or the collector token has MAX_OPEN_CAPTURES_PER_TOKEN (256) over all the hosts of its scope; a new one is refused until one commits or the staging sweep drops one (24 h after its latest begin; 1 h for one still declared in part; a repeated begin of an open capture is not refused); retry after Retry-After seconds',
    ),
    503: INGEST_UNAVAILABLE,
  },
});

const partial = createRoute({
  method: 'post',
  path: '/v1/captures/{id}/partial',
  operationId: 'beginCapturePartly',
  tags: ['ingest'],
  security: [{ bearer: [] }],
  summary:
    'Begin a capture with the artifacts read so far, while its collector reads the rest: its chunks can be sent meanwhile, its commit waits for the whole declaration',
  description:
    "The body is a begin (POST /v1/captures) whose captureId is {id}, declaring the artifacts read so far; the answer is a begin's. Repeated with more artifacts, " +
    "it extends the declaration: each later one must hold the earlier one's artifacts, unchanged, as its first (409 otherwise), and is held to the limits table whole. " +
    'The capture takes chunks as any open one; its commit answers 409 until a begin (POST /v1/captures) declares it whole, holding this one as its first artifacts. ' +
    'A catalog without this route answers 404 or 405: begin once every artifact is read.',
  middleware: [requireRole('collector'), holdBody(LIMITS.requestBodyBytes), precheckCounts, admitIngest] as const,
  request: {
    params: z.object({ id: UUID }),
    headers: z.object({
      prefer: z.string().optional().describe('`return=minimal`, as for a begin'),
      'content-encoding': z.string().optional().describe('`gzip`, as for a begin'),
    }),
    body: { content: { 'application/json': { schema: BeginRequestSchema } }, required: true },
  },
  responses: {
    200: { description: 'The chunks to upload (idempotent on captureId and declaration)', content: { 'application/json': { schema: BeginResponse } } },
    400: err('Bad request (the body names another capture id than the path), or over a limit of the limits table (details.limit names it)'),
    401: err('No or bad token'),
    403: err("Wrong role or another host, or a new host past the collector token's COLLECTOR_TOKEN_HOSTS_MAX, as for a begin"),
    409: err("The capture id is taken by different content, or the declaration does not hold the capture's earlier one as its first artifacts"),
    413: err('The request body is over the size limit, as sent or inflated'),
    415: err('A Content-Encoding other than gzip, or a body not sent as JSON (Content-Type: application/json)'),
    422: err('An artifact declared by `previous` does not resolve, as for a begin'),
    429: retryLater(
      'As for a begin: the host has MAX_OPEN_CAPTURES (32) open captures, or the collector token MAX_OPEN_CAPTURES_PER_TOKEN (256); retry after Retry-After seconds',
    ),
    503: INGEST_UNAVAILABLE,
  },
});

const commit = createRoute({
  method: 'post',
  path: '/v1/captures/{id}/commit',
  operationId: 'commitCapture',
  tags: ['ingest'],
  security: [{ bearer: [] }],
  summary: 'Commit a capture: verify every chunk, parse and index every artifact, write the manifest (a large one in a worker: 202, ask again)',
  middleware: [requireRole('collector'), admitIngest] as const,
  request: {
    params: z.object({ id: UUID }),
    headers: z.object({
      prefer: z
        .string()
        .optional()
        .describe(
          '`respond-async` (RFC 7240): the client takes 202 for a commit handed to a worker. Without it such a commit answers 503 + Retry-After ' +
            '(a client that predates the 202 then tries again later, as for a busy catalog) while the worker goes on',
        ),
    }),
  },
  responses: {
    200: { description: 'Committed (idempotent)', content: { 'application/json': { schema: CommitResponse } } },
    202: {
      description:
        'The commit must read back more uploaded bytes than one request may take (COMMIT_INLINE_MAX_BYTES; chunks this process took through PUT …/chunks and still holds do not count), ' +
        'or hash more than 16 times that of new artifacts whole: a worker verifies, parses and indexes it. ' +
        'POST commit again after Retry-After: 202 while it runs, then 200 as above, or the 4xx/5xx the commit ended with (once; the next POST tries again)',
      headers: z.object({ 'retry-after': z.string().describe('Seconds to wait before POSTing commit again') }),
      content: { 'application/json': { schema: CommitInProgress } },
    },
    400: err('Bad capture id'),
    401: err('No or bad token'),
    403: err('Wrong role'),
    404: err('No such capture; a collector token is answered so for a capture of a host outside its scope too, with the same code and message'),
    413: err('A chunk inflates past 1 MiB'),
    422: err('A chunk is missing or is not what its name says; nothing was indexed'),
    503: INGEST_UNAVAILABLE,
  },
});

const chunks = createRoute({
  method: 'put',
  path: '/v1/captures/{id}/chunks',
  operationId: 'sendCaptureChunks',
  tags: ['ingest'],
  security: [{ bearer: [] }],
  summary: 'Send small chunks of an open capture through the catalog: verified in memory, published write-once, one store request each',
  description:
    `A batch of chunks the capture declared at begin and begin handed out as missing, each stored in at most ${SMALL_CHUNK_MAX_STORED_BYTES} bytes ` +
    `(larger ones go to their upload URLs), at most ${CHUNK_BATCH_MAX_BYTES} bytes and ${CHUNK_BATCH_MAX_CHUNKS} chunks in all. The body repeats, until it ends: the chunk's SHA-256 ` +
    '(32 bytes, raw), the stored length (4 bytes, unsigned big-endian), the stored bytes (as declared at begin: identity or one gzip member). ' +
    'Each chunk is checked (stored size and SHA-256 as declared, SHA-256 after a bounded inflate) before any is stored; a bad one refuses the ' +
    'whole batch. Safe to repeat. A catalog without this route answers 404 or 405: use the upload URLs.',
  middleware: [
    requireRole('collector'),
    bodyLimit({
      maxSize: CHUNK_BATCH_MAX_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', `a batch of chunks is at most ${CHUNK_BATCH_MAX_BYTES} bytes`);
      },
    }),
    holdBody(CHUNK_BATCH_MAX_BYTES),
    readBatchFirst,
    admitIngest,
  ] as const,
  request: {
    params: z.object({ id: UUID }),
    body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, required: true },
  },
  responses: {
    200: { description: 'Every chunk of the batch is verified and stored for this capture', content: { 'application/json': { schema: ChunksReceived } } },
    400: err('The body is not the framing (a truncated head or chunk, an empty chunk or batch, a chunk twice)'),
    401: err('No or bad token'),
    403: err('Wrong role'),
    404: err('No such capture; a collector token is answered so for a capture of a host outside its scope too, with the same code and message'),
    409: err('The capture is committed, or a chunk is one begin answers present'),
    413: err('The batch is over its size or chunk-count limit, a chunk over its size limit, or a chunk inflates past 1 MiB'),
    422: err('A chunk is not declared by the capture, or is not what its name and declaration say; nothing of the batch was stored'),
    503: INGEST_UNAVAILABLE,
  },
});

const drop = createRoute({
  method: 'delete',
  path: '/v1/captures/{id}',
  operationId: 'dropOpenCapture',
  tags: ['ingest'],
  security: [{ bearer: [] }],
  summary:
    'Drop an open capture (begun, not committed) now, as the staging sweep does 24 h after its last begin, one still declared in part an hour after: for a host refused new captures (429), or a stuck one. ' +
    'Its collector begins it again with its next run if the capture waits in its spool (one a stopped run left declared in part never does: that run spooled nothing)',
  middleware: [requireRole('admin')] as const,
  request: { params: z.object({ id: UUID }) },
  responses: {
    200: {
      description: 'Dropped: the capture row, its chunk records, its waiting or failed commit job, its staging area',
      content: { 'application/json': { schema: OpenCaptureDropped } },
    },
    400: err('Bad capture id'),
    401: err('No or bad token'),
    403: err('Not an admin token'),
    404: err('No open capture with this id'),
    409: err('The capture is committed (retention decides about it), or a worker is committing it now'),
    503: retryLater('The database is unavailable or did not answer in time; retry after Retry-After seconds'),
  },
});

/** Registers POST /v1/captures, POST /v1/captures/{id}/partial, PUT /v1/captures/{id}/chunks, POST /v1/captures/{id}/commit and DELETE /v1/captures/{id}. */
export function registerCaptureRoutes(app: App): void {
  app.openapi(begin, async (c) => {
    const body: BeginBody = c.req.valid('json');
    const prefer = c.req.header('prefer') ?? '';
    const minimal = /\breturn=minimal\b/i.test(prefer);
    // A failure's log line names the capture (see api/errors.ts annotateError).
    let answer = await beginCapture(c.var.services, c.var.principal!, body, minimal).catch((e: unknown) => {
      throw annotateError(e, { captureId: body.captureId.toLowerCase() });
    });
    if (/\bcommit-if-complete\b/i.test(prefer)) {
      answer = await commitAtBegin(c.var.services, c.var.principal!, body, answer).catch((e: unknown) => {
        throw annotateError(e, { captureId: answer.captureId });
      });
      if (answer.commit) c.header('preference-applied', 'commit-if-complete');
    }
    return c.json(answer, 200);
  });
  app.openapi(partial, async (c) => {
    const body: BeginBody = c.req.valid('json');
    const id = c.req.valid('param').id.toLowerCase();
    if (body.captureId.toLowerCase() !== id) throw new ApiError('bad_request', `the body begins capture ${body.captureId}, the path names ${id}`);
    const minimal = /\breturn=minimal\b/i.test(c.req.header('prefer') ?? '');
    const answer = await beginCapture(c.var.services, c.var.principal!, body, minimal, true).catch((e: unknown) => {
      throw annotateError(e, { captureId: id });
    });
    return c.json(answer, 200);
  });
  app.openapi(chunks, async (c) => {
    const id = c.req.valid('param').id.toLowerCase();
    const body = new Uint8Array(await c.req.arrayBuffer());
    const answer = await receiveChunks(c.var.services, c.var.principal!, id, body).catch((e: unknown) => {
      throw annotateError(e, { captureId: id });
    });
    return c.json(answer, 200);
  });
  app.openapi(drop, async (c) => {
    const id = c.req.valid('param').id.toLowerCase();
    const dropped = await dropOpenCapture(c.var.services, id);
    await recordAudit(c, 'drop-capture', id, { host: dropped.host, chunkRecords: dropped.chunkRecords });
    return c.json({ ...dropped, dropped: true as const }, 200);
  });
  app.openapi(commit, async (c) => {
    const id = c.req.valid('param').id.toLowerCase();
    const answer = await commitOrHandOff(c.var.services, c.var.principal!, id).catch((e: unknown) => {
      throw annotateError(e, { captureId: id });
    });
    if (answer.status === 202 && !/\brespond-async\b/i.test(c.req.header('prefer') ?? '')) {
      // A client that would take any 2xx for "committed" (and drop its spooled copy) is told "later" instead.
      throw new ApiError(
        'service_unavailable',
        `the catalog is committing capture ${id} in the background (${answer.body.bytes} bytes to verify); retry later`,
      );
    }
    if (answer.status === 202) {
      c.header('retry-after', String(answer.body.retryAfter));
      return c.json(answer.body, 202);
    }
    return c.json(answer.body, 200);
  });
}
