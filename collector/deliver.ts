import { promises as fsp } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CHUNK_SIZE, type BeginResponse, type ChunkRef, type CommitResponse, type UploadTarget } from '../formats/index.js';
import type { CatalogClient } from './catalog-client.js';
import { readAll } from './capture.js';
import { ChunkStager, sha256Hex } from './chunker.js';
import { spoolListCommand } from './cli.js';
import { CollectorError, describeError, EXIT } from './errors.js';
import { accessFromRef, type HostAccess, type HostSettings } from './host-access.js';
import { RejectedError, UnreachableError, unreachableLine } from './http.js';
import type { DeliveryAttempt, Rejection, Spool, SpooledCapture } from './spool.js';

export interface DeliveryResult {
  captureId: string;
  commit: CommitResponse | null;
  chunksUploaded: number;
  bytesUploaded: number;
  putRequests: number;
  /** Begin requests sent (2 when stale chunks had to be re-read and re-declared). */
  beginRequests: number;
}

export interface DeliveryOptions {
  parallel: number;
  onUploaded?: (bytes: number) => void;
  /** How chunks the spool lacks are re-read from their hosts (default: DEFAULT_HOST_SETTINGS). */
  host?: HostSettings;
}

/** A delivery's result before anything was sent. */
export function newResult(captureId: string): DeliveryResult {
  return { captureId, commit: null, chunksUploaded: 0, bytesUploaded: 0, putRequests: 0, beginRequests: 0 };
}

/** A capture moved to `rejected/`: the run goes on with the others; the exit status says so. */
export class CaptureRejected extends CollectorError {
  constructor(
    message: string,
    readonly captureId: string,
    readonly rejection: Rejection,
  ) {
    super(message, EXIT.rejected);
    this.name = 'CaptureRejected';
  }
}

/**
 * When a 5xx stops meaning "try again later". 502, 503 and 504 (the catalog or its proxy
 * is down or busy) never do, nor do network errors, timeouts, 408 and 429, however long
 * they last. Any other 5xx — a 500 is the catalog failing on this very capture — does
 * once the same status has answered on `runs` runs spanning `hours` or more, and the
 * catalog took some other capture from this spool after the first of them (a catalog
 * failing on everything is an outage, not this capture's fault): a passing fault (a
 * restart, a full disk) gets hours to clear, while a capture the catalog chokes on
 * cannot hold up its host forever.
 */
export const GIVE_UP = Object.freeze({ runs: 3, hours: 6 });

/**
 * 4xx answers that say nothing about the capture: a refused token (401) or host scope
 * (403), or a URL that does not lead to the ingest API (404, 405: a begin creates, it
 * looks nothing up). Every capture would get the same answer: all stay queued.
 */
export const NOT_THE_CAPTURE = [401, 403, 404, 405];

/**
 * True when the attempts so far (the latest last) say the capture will never go;
 * `lastDelivery`: when this spool last delivered a capture (ms, 0: never).
 */
export function givesUp(attempts: DeliveryAttempt[], now: number, lastDelivery: number): boolean {
  const last = attempts.at(-1);
  if (!last || last.status < 500 || last.status === 502 || last.status === 503 || last.status === 504) return false;
  const same = attempts.filter((a) => a.status === last.status);
  const first = Date.parse(same[0].at);
  return same.length >= GIVE_UP.runs && now - first >= GIVE_UP.hours * 3_600_000 && lastDelivery > first;
}

/**
 * Records a failed delivery in the capture's spool entry and decides what it means:
 * a 4xx from the catalog other than NOT_THE_CAPTURE (408 and 429 are retried, never thrown as
 * refusals), a capture the collector itself can no longer send (status 0), or a 5xx past
 * GIVE_UP moves the capture to `rejected/` and yields CaptureRejected; anything else is
 * returned as is and the capture stays queued.
 */
async function settleFailure(c: SpooledCapture, e: unknown, spool: Spool, now: number): Promise<unknown> {
  const http = e instanceof RejectedError || e instanceof UnreachableError ? e : null;
  // The catalog out of reach is recorded as the run says it ('catalog unreachable: …'), not by the request it hit.
  const error = (e instanceof UnreachableError && unreachableLine(e)) || describeError(e);
  const attempt: DeliveryAttempt = { at: new Date(now).toISOString(), status: http?.status ?? 0, error };
  if (http?.requestId) attempt.requestId = http.requestId;
  await spool.recordAttempt(c, attempt);
  let message = attempt.error;
  if (givesUp(c.attempts!, now, await spool.lastDelivery())) {
    const same = c.attempts!.filter((a) => a.status === attempt.status);
    message += `; HTTP ${attempt.status} on ${same.length} runs since ${same[0].at}`;
  } else if (!(e instanceof RejectedError) || e.store || NOT_THE_CAPTURE.includes(e.status)) return e;
  const rejection: Rejection = { rejectedAt: attempt.at, status: attempt.status, message, requestId: attempt.requestId ?? null };
  await spool.rejectCapture(c, rejection);
  return new CaptureRejected(
    `capture ${c.begin.captureId} of ${c.begin.host.name} (collected ${c.begin.collectedAt}) will never be taken: ${message}; kept in ${spool.dir}/rejected/${c.begin.captureId}/ (see ${spoolListCommand(spool.dir)})`,
    c.begin.captureId,
    rejection,
  );
}

/** Runs `work` over `items` with at most `limit` at once; the first failure wins. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const lane = async () => {
    while (failed === null && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed !== null) throw failed;
}

/**
 * Re-reads chunks the catalog lacks but the spool does not hold (the known-present list
 * was stale, or the spool was full), stages them, and rewrites their declarations.
 */
async function restageMissing(c: SpooledCapture, shas: Set<string>, spool: Spool, host?: HostSettings): Promise<void> {
  const stager = new ChunkStager(spool, new Set());
  const refs = new Map<string, ChunkRef>();
  // One access per source host and one chunk buffer for all re-reads: memory stays flat.
  const accesses = new Map<string, HostAccess>();
  const scratch = Buffer.allocUnsafe(CHUNK_SIZE);
  for (const sha of shas) {
    for (let ai = 0; ai < c.begin.artifacts.length && !refs.has(sha); ai++) {
      const a = c.begin.artifacts[ai];
      const src = c.sources[ai];
      const idx = a.chunks.findIndex((ch) => ch.sha256 === sha);
      if (idx === -1 || !src) continue;
      const size = a.chunks[idx].size;
      let data: Buffer;
      try {
        const key = JSON.stringify(src.access);
        let access = accesses.get(key);
        if (!access) accesses.set(key, (access = accessFromRef(src.access, host)));
        data = await readAll(access.read(src.path, src.offset + idx * CHUNK_SIZE, size), size, scratch);
      } catch (e) {
        throw new CollectorError(`capture ${c.begin.captureId}: re-reading ${src.path}: ${describeError(e)}`);
      }
      if (data.length !== size || sha256Hex(data) !== sha) {
        throw new RejectedError(`capture ${c.begin.captureId}: ${src.path} changed since it was read; chunk ${idx} can no longer be sent`, 0);
      }
      refs.set(sha, await stager.offer(sha, data, true));
    }
    if (!refs.has(sha)) throw new RejectedError(`capture ${c.begin.captureId}: chunk ${sha.slice(0, 12)} is neither staged nor re-readable`, 0);
  }
  for (const a of c.begin.artifacts) a.chunks = a.chunks.map((ch) => refs.get(ch.sha256) ?? ch);
  await spool.saveCapture(c);
}

/** The bytes to PUT for a target, from the staged file (decompressed if an identity upload is asked). */
async function storedBytes(spool: Spool, t: UploadTarget): Promise<Buffer> {
  const s = spool.staged(t.sha256);
  if (!s) throw new CollectorError(`chunk ${t.sha256.slice(0, 12)} is not staged`);
  const data = await fsp.readFile(s.file);
  if (s.encoding === t.encoding) return data;
  if (t.encoding === 'identity') return gunzipSync(data);
  throw new CollectorError(`the catalog asked for a ${t.encoding} upload of chunk ${t.sha256.slice(0, 12)}, staged as ${s.encoding}`);
}

/**
 * PUTs the chunks `begun` lists missing, each from its staged file: those stored in at most
 * 131,036 bytes through the catalog, 32 a request (at most 4 MiB), four requests at a time
 * (it stores each with one request of its own); a catalog without that route (404, 405: an
 * older one) gets them by URL, as it gets larger ones.
 */
async function sendMissing(
  c: Pick<SpooledCapture, 'begin'>,
  begun: BeginResponse,
  client: CatalogClient,
  spool: Spool,
  opts: DeliveryOptions,
  result: DeliveryResult,
): Promise<void> {
  const sent = (body: Buffer) => {
    result.chunksUploaded++;
    result.bytesUploaded += body.length;
    opts.onUploaded?.(body.length);
  };
  const sizes = new Map(c.begin.artifacts.flatMap((a) => a.chunks.map((ch) => [ch.sha256, ch.storedSize ?? ch.size])));
  // In the order begin lists them (the order of first declaration): the catalog hashes and
  // parses an artifact once its chunks are in, and the chunks many artifacts share come first.
  const urls: UploadTarget[] = [];
  const batches: UploadTarget[][] = [[]];
  for (const t of new Map(begun.missing.map((t) => [t.sha256, t])).values()) {
    if (sizes.get(t.sha256)! > 131036) urls.push(t);
    else if (batches.at(-1)!.push(t) > 31) batches.push([]);
  }
  await pool(
    batches.filter((b) => b.length),
    4,
    async (b) => {
      const bodies = await Promise.all(b.map((t) => storedBytes(spool, t)));
      const body = Buffer.concat(bodies.flatMap((d, i) => [Buffer.from(b[i].sha256 + d.length.toString(16).padStart(8, '0'), 'hex'), d]));
      try {
        await client.put({ ...b[0], url: `v1/captures/${c.begin.captureId}/chunks`, headers: { 'content-type': 'application/octet-stream' } }, body);
      } catch (e) {
        if (!(e instanceof RejectedError && e.status > 403 && e.status < 406)) throw e;
        return void urls.push(...b);
      }
      result.putRequests++;
      bodies.forEach(sent);
    },
  );
  await pool(urls, opts.parallel, async (t) => {
    const body = await storedBytes(spool, t);
    await client.put(t, body);
    result.putRequests++;
    sent(body);
  });
}

/**
 * Sends one spooled capture: begin, PUT what the catalog lacks, commit; then remembers
 * its chunks as present and drops it from the spool. Safe to repeat: same captureId.
 * Network failures surface as UnreachableError with the capture still spooled.
 */
export async function deliverCapture(c: SpooledCapture, client: CatalogClient, spool: Spool, opts: DeliveryOptions): Promise<DeliveryResult> {
  const result = newResult(c.begin.captureId);
  const allShas = new Set(c.begin.artifacts.flatMap((a) => a.chunks.map((ch) => ch.sha256)));
  // An artifact this host committed before, byte for byte, is declared by that artifact's id
  // instead of its chunk list; if the catalog cannot resolve one, the lists go after all.
  const known = await spool.knownArtifacts();
  const keys = c.begin.artifacts.map((a) => sha256Hex(JSON.stringify([c.begin.host.name, { ...a, chunks: a.chunks.map((ch) => ch.sha256) }])));
  let brief: string | undefined;
  const artifacts = c.begin.artifacts.map(({ chunks, ...a }, i) => {
    const previous = known.get(keys[i]);
    brief ||= previous;
    return previous ? { ...a, previous } : { ...a, chunks };
  });
  let begun: BeginResponse;
  try {
    try {
      begun = await client.begin(brief ? { ...c.begin, artifacts } : c.begin).catch((e) => {
        if (!brief || !(e instanceof RejectedError)) throw e;
        result.beginRequests++;
        return client.begin(c.begin);
      });
    } catch (e) {
      // An S3-backed catalog may insist on storedMd5 for every chunk, even those it holds;
      // chunks declared bare (believed present) then get staged from their sources first.
      if (!(e instanceof RejectedError && e.status === 400 && /storedMd5/.test(e.message))) throw e;
      await restageMissing(c, new Set(c.begin.artifacts.flatMap((a) => a.chunks.filter((ch) => !ch.storedMd5).map((ch) => ch.sha256))), spool, opts.host);
      result.beginRequests++;
      begun = await client.begin(c.begin);
    }
    result.beginRequests++;
    const upload = async () => {
      if (begun.state === 'committed') return;
      const unstaged = new Set(begun.missing.map((t) => t.sha256).filter((sha) => !spool.staged(sha)));
      if (unstaged.size > 0) {
        await spool.forgetChunks(unstaged);
        await restageMissing(c, unstaged, spool, opts.host);
        begun = await client.begin(c.begin);
        result.beginRequests++;
      }
      await sendMissing(c, begun, client, spool, opts, result);
    };
    // A catalog that committed the capture with its begin (an unchanged run) said so in `commit`.
    if (begun.commit) result.commit = begun.commit;
    else await upload();
    try {
      result.commit ??= await client.commit(c.begin.captureId);
    } catch (e) {
      // 422: the catalog found a chunk that does not match its hash and deleted it;
      // a second begin names what it now lacks, and one more upload can mend it.
      // 404: the catalog swept the open capture meanwhile; the begin opens it again.
      if (!(e instanceof RejectedError && (e.status === 422 || e.status === 404))) throw e;
      begun = await client.begin(c.begin);
      result.beginRequests++;
      await upload();
      result.commit = await client.commit(c.begin.captureId);
    }
  } catch (e) {
    throw await settleFailure(c, e, spool, Date.now());
  }
  await spool.rememberChunks(allShas);
  await spool.rememberArtifacts(result.commit!.artifacts.map((a, i) => [keys[i], a.id]));
  await spool.removeCapture(c.begin.captureId);
  await spool.collectGarbage();
  return result;
}

/**
 * One step of a capture declared while it is still read (SendSession.declareSoFar): the
 * artifacts read so far declared in part (POST /v1/captures/{id}/partial), then the staged
 * chunks the catalog lacks of them sent, so it verifies, hashes and parses them while the rest
 * is read. The capture itself goes as always once read (deliverCapture, same captureId). Any
 * failure (a catalog without the route: 404) ends the steps; nothing is recorded in the spool.
 */
export async function deliverPart(
  c: Pick<SpooledCapture, 'begin'>,
  client: CatalogClient,
  spool: Spool,
  opts: DeliveryOptions,
  result: DeliveryResult,
): Promise<void> {
  const begun = await client.begin(c.begin, true);
  await sendMissing(c, { ...begun, missing: begun.missing.filter((t) => spool.staged(t.sha256)) }, client, spool, opts, result);
}
