/**
 * One artifact: its metadata, and its bytes — streamed from the chunks, never
 * buffered whole, with ETag = SHA-256, the original file name, single-range
 * requests and If-None-Match. `?redirect=1` assembles the object in the store and
 * answers 302 to a presigned GET. Where answers are buffered and capped (Lambda:
 * Services.bufferedAnswers) that is also the answer asked without `redirect` when the bytes to
 * send — the artifact, or the range asked for — are more than a buffered answer carries; a
 * smaller one is answered directly, as on Node: one round trip, no copy assembled in the bucket,
 * and the curl lines the catalog prints (with -L) get the file either way. `?redirect=0` streams.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { artifactContent, getArtifact } from '../read/artifacts.js';
import { requireRole } from '../http/auth.js';
import { ApiError } from '../errors.js';
import { BUFFERED_ANSWER_MAX_BYTES, type App } from '../context.js';
import { recordAudit } from '../http/audit.js';
import { artifactBytes, assembleObject, ChunkIntegrityError, type StoredChunk, toWebStream } from '../read/content.js';
import { recordDamagedChunk } from '../retention/check.js';
import type { Services } from '../context.js';
import { etagMatches, parseRange } from '../http/range.js';
import { attachmentDisposition } from '../store/content-disposition.js';
import { BlobNotFoundError, chunkKey } from '../store/types.js';
import { openChunkCorrupt } from '../events/chunk-corrupt.js';
import { and, gt, inArray } from 'drizzle-orm';
import { blobs } from '../../db/schema.js';
import { DOUBTED, markVerified, pool } from '../ingest/staging.js';
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
  description:
    'Streamed from its chunks, with ETag = SHA-256, one byte range, If-None-Match and If-Range. `redirect=1` answers 302 to a presigned GET of ' +
    `the object assembled in the store (valid ${DOWNLOAD_URL_TTL_SECONDS / 60} min); on AWS Lambda, whose answers are buffered and capped at 6 MB, ` +
    `that is also the answer without \`redirect\` when the bytes to send (the artifact, or the range asked for) are more than ${BUFFERED_ANSWER_MAX_BYTES / 1048576} MiB, ` +
    'so a client follows redirects (`curl -L`; the presigned URL carries its own authorization). `redirect=0` always streams.',
  middleware: [requireRole('operator')] as const,
  request: {
    params: idParam,
    query: z.object({
      redirect: z
        .enum(['0', '1', 'true', 'false'])
        .optional()
        .openapi({
          description: `1: answer 302 to a presigned GET of the assembled object; 0: stream it. Unset: stream, except on AWS Lambda past ${BUFFERED_ANSWER_MAX_BYTES / 1048576} MiB (the 302)`,
        }),
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
    302: { description: `Redirect to a presigned GET of the bytes: asked with redirect=1, or on AWS Lambda past ${BUFFERED_ANSWER_MAX_BYTES / 1048576} MiB` },
    304: { description: 'Not modified (If-None-Match names the SHA-256)' },
    416: err('Range not satisfiable'),
    502: err(
      'A stored chunk of the artifact no longer matches its SHA-256, or is gone from the store (chunk_corrupt): nothing of it is sent; a damaged one is set aside and raised as chunk-corrupt',
    ),
    ...READ_ERRORS,
  },
});

/**
 * Records a chunk a download found damaged as the scrub would (api/retention/check.ts
 * recordDamagedChunk); a failure to record is logged, never thrown over the answer.
 */
export async function noteDamagedChunk(services: Services, chunks: StoredChunk[], sha256: string, requestId: string): Promise<void> {
  const chunk = chunks.find((c) => c.sha256 === sha256);
  if (!chunk) return;
  await recordDamagedChunk(services, chunk).catch((e) => {
    services.logger.error('recording a damaged chunk failed', { requestId, sha256, err: e instanceof Error ? e.message : String(e) });
  });
}

/** The chunk a read failed on: one found damaged, or one gone from the store (its key's last part); null for any other error. */
function failedChunk(e: unknown): string | null {
  if (e instanceof ChunkIntegrityError) return e.sha256;
  if (e instanceof BlobNotFoundError) return e.key.slice(e.key.lastIndexOf('/') + 1);
  return null;
}

/**
 * What a read of `what`'s chunks that failed before the answer started becomes: for a chunk
 * found damaged or gone, recorded as the scrub would (noteDamagedChunk) and a 502 naming the
 * artifact, the chunk and what happens next; any other error as it was.
 */
async function chunkFailure(services: Services, chunks: StoredChunk[], what: string, e: unknown, requestId: string): Promise<unknown> {
  const sha256 = failedChunk(e);
  if (!sha256) return e;
  await noteDamagedChunk(services, chunks, sha256, requestId);
  const why =
    e instanceof BlobNotFoundError
      ? 'is gone from the store, so none of it is sent — check the store (an unmounted directory, a deleted bucket prefix, another bucket);'
      : 'no longer matches its SHA-256, so none of it is sent; it is set aside and raised as chunk-corrupt —';
  return new ApiError(
    'chunk_corrupt',
    `${what}: stored chunk ${sha256} ${why} the next capture of a host holding these bytes stores it again, or use another capture's copy`,
    { sha256 },
  );
}

/**
 * The first chunk `range` (default all) reaches that the catalog already knows it cannot
 * send, before the answer starts: one found damaged and set aside by a download or the scrub,
 * its key still empty (an open chunk-corrupt event names it), or one whose record a listing,
 * scrub or download doubted or dropped and that the store does not show either (gone: a
 * chunk-missing). Seldom any: one query
 * for the records, then a HEAD for each such chunk (HEAD_CONCURRENCY at once); a chunk put
 * back under its key since is not one, and is sent, checked. Without this a later chunk known
 * gone broke off a transfer already answered 200.
 */
async function unsendableChunk(services: Services, chunks: StoredChunk[], range: { start: number; end: number } | null): Promise<Unsendable | null> {
  const start = range?.start ?? 0;
  const end = range?.end ?? Number.POSITIVE_INFINITY;
  const reached: StoredChunk[] = [];
  let offset = 0;
  for (const c of chunks) {
    if (offset <= end && offset + c.size - 1 >= start) reached.push(c);
    offset += c.size;
  }
  const [flagged, trusted] = await Promise.all([openChunkCorrupt(services.db), trustedRecords(services, [...new Set(reached.map((c) => c.sha256))])]);
  const setAside = new Set(flagged);
  const asked = [...new Map(reached.filter((c) => setAside.has(c.sha256) || !trusted.has(c.sha256)).map((c) => [c.sha256, c])).values()];
  if (asked.length === 0) return null;
  const shown = new Map(await pool(asked, HEAD_CONCURRENCY, async (c) => [c.sha256, (await services.store.head(chunkKey(c.sha256)))?.size ?? null] as const));
  // What the store showed as recorded is vouched for again (as a begin that asked it would): the next download does not ask.
  const present = asked.filter((c) => shown.get(c.sha256) === c.storedSize && !setAside.has(c.sha256)).map((c) => c.sha256);
  if (present.length > 0) await markVerified(services.db, present, services.now());
  // One shown at another size is still sent, checked: the same bytes stored again in another encoding are that.
  const gone = reached.find((c) => shown.get(c.sha256) === null);
  return gone ? { sha256: gone.sha256, setAside: setAside.has(gone.sha256) } : null;
}

/** A chunk a download cannot send: gone from the store, or set aside earlier as damaged (an open chunk-corrupt event) and not put back. */
interface Unsendable {
  sha256: string;
  setAside: boolean;
}

/**
 * HEADs in flight when a download asks the store for chunks whose records are in doubt: a
 * catalog rebuilt from its store holds every record so until the next maintenance pass's
 * listing vouches for it, and a 1.5 GiB dump is 1,536 chunks.
 */
const HEAD_CONCURRENCY = 16;

/** Of `shas`, those with a record no listing, scrub or download doubted (api/ingest/staging.ts DOUBTED). */
async function trustedRecords(services: Services, shas: string[]): Promise<Set<string>> {
  const trusted = new Set<string>();
  for (let i = 0; i < shas.length; i += 1000) {
    const rows = await services.db
      .select({ sha256: blobs.sha256 })
      .from(blobs)
      .where(and(inArray(blobs.sha256, shas.slice(i, i + 1000)), gt(blobs.lastVerified, DOUBTED)));
    for (const r of rows) trusted.add(r.sha256);
  }
  return trusted;
}

/**
 * `source` with its first piece read before the answer starts: a chunk found damaged (or
 * gone) there is a 502 naming it (a damaged one recorded), not a 200 that breaks off.
 */
async function primed(
  services: Services,
  source: AsyncGenerator<Uint8Array>,
  what: string,
  chunks: StoredChunk[],
  requestId: string,
): Promise<AsyncGenerator<Uint8Array>> {
  let first: IteratorResult<Uint8Array>;
  try {
    first = await source.next();
  } catch (e) {
    throw await chunkFailure(services, chunks, what, e, requestId);
  }
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* source;
  })();
}

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
    const { services } = c.var;
    const { db, store, logger } = services;
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

    let range = parseRange(c.req.header('range'), size);
    const ifRange = c.req.header('if-range');
    // If-Range with another validator: the client's partial copy is stale, send it all.
    if (range && ifRange && !etagMatches(ifRange, sha256)) range = null;
    const asked = redirect === undefined ? undefined : redirect === '1' || redirect === 'true';
    // Unasked on a buffered runtime: what the answer cannot carry goes by the store (a HEAD carries no bytes).
    const sending = range && range !== 'unsatisfiable' ? range.end - range.start + 1 : size;
    const tooLarge = services.bufferedAnswers === true && c.req.method !== 'HEAD' && range !== 'unsatisfiable' && sending > BUFFERED_ANSWER_MAX_BYTES;
    if (asked ?? tooLarge) {
      // Content-addressed: one assembled object per distinct artifact content.
      const key = `bundles/artifacts/${sha256}`;
      if (!(await store.head(key))) {
        try {
          await assembleObject(store, key, artifactBytes(store, chunks));
        } catch (e) {
          throw await chunkFailure(services, chunks, `artifact ${id} (${fileName})`, e, c.var.requestId);
        }
      }
      // A range asked for is asked of the store again: a client sends Range along a redirect (curl -L, browsers), and S3 answers it.
      const signed = await store.presignGet(key, { expiresInSeconds: DOWNLOAD_URL_TTL_SECONDS, fileName });
      await recordAudit(c, 'download', id, { fileName, sha256, size, redirect: true });
      return c.redirect(signed.url, 302);
    }

    if (range === 'unsatisfiable') {
      c.header('Content-Range', `bytes */${size}`);
      throw new ApiError('range_not_satisfiable', `range ${c.req.header('range')} is outside the artifact's ${size} bytes`);
    }
    // A chunk set aside or gone would break the transfer off where it starts: said before the answer does.
    const what = `artifact ${id} (${fileName})`;
    const unsendable = await unsendableChunk(services, chunks, range);
    if (unsendable?.setAside)
      throw new ApiError(
        'chunk_corrupt',
        `${what}: stored chunk ${unsendable.sha256} was found damaged and set aside (an open chunk-corrupt event), so none of it is sent — the next capture of a host holding these bytes stores it again, or use another capture's copy`,
        { sha256: unsendable.sha256 },
      );
    if (unsendable) throw await chunkFailure(services, chunks, what, new BlobNotFoundError(chunkKey(unsendable.sha256)), c.var.requestId);
    if (c.req.method !== 'HEAD') {
      await recordAudit(c, 'download', id, { fileName, sha256, size, ...(range ? { range: `${range.start}-${range.end}` } : {}) });
    }
    // Each chunk is checked whole before any of its bytes go out: the first before the
    // answer starts (a 502 naming it), a later one ends the transfer short (never a clean end).
    const source = await primed(services, artifactBytes(store, chunks, range ?? undefined), what, chunks, c.var.requestId);
    const body = toWebStream(source, (e) => {
      logger.error('artifact stream failed', { requestId: c.var.requestId, artifactId: id, err: e instanceof Error ? e.message : String(e) });
      const sha256 = failedChunk(e);
      if (sha256) void noteDamagedChunk(services, chunks, sha256, c.var.requestId);
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
