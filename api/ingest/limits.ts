/**
 * What a capture may declare at begin, in one table. Every limit here is checked by
 * `checkBeginLimits` before anything is written, and answered with 400 naming the limit
 * (`details.limit`), so nothing a begin accepts can be refused later by commit, the
 * manifest key (`manifests/<host>/<captureId>.json.gz`) or the filesystem store's key rule
 * (api/store/fs.ts `isValidBlobKey`). The checks are linear in the request and stop at
 * the first limit passed. See docs/architecture.md ("Limits").
 */
import { CHUNK_SIZE, type BeginRequest } from '../../formats/protocol.js';
import { HOST_LABEL_BYTES, HOST_NAME_BYTES, HOST_NAME_RULE, hostNameProblem } from '../../formats/host-name.js';
import { ApiError } from '../errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The limits table. Names are what a 400 answer carries in `details.limit`. */
export const LIMITS = {
  /** A begin's (or a part's) JSON body, checked before it is parsed (413); every other route's is SMALL_BODY_MAX_BYTES. A 65,536-chunk begin is about 20 MB. */
  requestBodyBytes: 64 * MiB,
  /**
   * JSON values of a begin body, counted before it is parsed as its objects, arrays and commas
   * outside strings (at least its values less one). Each costs its parse tens of bytes of heap
   * where its text may take two (`{},`): 64 MiB of them held 1.5 GB and the event loop for 27 s.
   * A begin at every other limit here, with every optional field, holds about 540,000.
   */
  requestJsonValues: 1_048_576,
  artifactsPerCapture: 10_000,
  /** 4 GiB in 1 MiB chunks. */
  chunksPerArtifact: 4096,
  /** Chunk references across all artifacts of one capture (repeats count). */
  chunksPerCapture: 65_536,
  artifactBytes: 4 * GiB,
  /** Sum of the declared sizes of a capture's artifacts. */
  captureBytes: 32 * GiB,
  /** Uncompressed bytes of one chunk. */
  chunkBytes: CHUNK_SIZE,
  /** A gzip stream of 1 MiB of incompressible bytes is a little larger than 1 MiB. */
  storedChunkBytes: CHUNK_SIZE + 64 * KiB,
  /** Host names: DNS style (see HOST_NAME_RULE). */
  hostNameBytes: HOST_NAME_BYTES,
  hostLabelBytes: HOST_LABEL_BYTES,
  /** File names: see FILE_NAME_RULE. */
  fileNameBytes: 255,
  sourcePathBytes: 4096,
  deviceBytes: 1024,
  collectorVersionBytes: 100,
  systemUuidBytes: 100,
} as const;

export type LimitName = keyof typeof LIMITS;

export const MAX_ARTIFACTS_PER_CAPTURE = LIMITS.artifactsPerCapture;
export const MAX_ARTIFACT_BYTES = LIMITS.artifactBytes;
export const MAX_STORED_CHUNK_BYTES = LIMITS.storedChunkBytes;

/** Host names: formats/host-name.ts, the rule the collector checks too. */
export { HOST_NAME_RULE, hostNameProblem };

/**
 * File names are what the collector saw (`.vh.sf`, `backup (1).hex`, non-ASCII): the catalog
 * keeps them for display and downloads (RFC 6266 `filename*`) and never builds a store key or
 * a path from them; where a name becomes a path (a bundle's `<host>/<kind>/<file>`) it is made
 * safe there (api/bundle/select.ts `safeName`). So only what no name may hold is refused:
 * nothing at all, more than 255 bytes, a NUL or other control character.
 */
export const FILE_NAME_RULE = '1-255 bytes of UTF-8 without NUL or other control characters';

/** C0 controls, DEL and C1 controls: never valid in a name, path or query. */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** Half of a UTF-16 pair with no other half: not UTF-8 text. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `name` is not a valid artifact file name, or null when it is. */
export function fileNameProblem(name: string): string | null {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > LIMITS.fileNameBytes) return `is ${bytes} bytes; the limit is ${LIMITS.fileNameBytes}`;
  if (bytes === 0 || CONTROL_CHARS.test(name) || LONE_SURROGATE.test(name)) return `is not ${FILE_NAME_RULE}`;
  return null;
}

/** Quoted for a message: at most 80 characters, controls escaped. */
function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

function over(limit: LimitName, message: string, actual: number | string): never {
  throw new ApiError('bad_request', `${message} (limit ${limit})`, { limit, max: LIMITS[limit], actual });
}

/**
 * Why `value` cannot be stored under `limit`, or null when it can: `why` to follow the field's
 * name, `actual` what the error details carry (its bytes when too long, else what it holds).
 */
export function textValueProblem(limit: LimitName, value: string): { why: string; actual: number | string } | null {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > LIMITS[limit]) return { why: `is ${bytes} bytes; the limit is ${LIMITS[limit]}`, actual: bytes };
  if (CONTROL_CHARS.test(value)) return { why: 'holds a NUL or control character', actual: 'control character' };
  // JSON may escape half a pair (\ud800); UTF-8, and so the capture's jsonb and text columns, cannot hold it.
  if (LONE_SURROGATE.test(value)) return { why: 'holds half of a UTF-16 surrogate pair, which is not text', actual: 'lone surrogate' };
  return null;
}

function textProblem(limit: LimitName, what: string, value: string): void {
  const problem = textValueProblem(limit, value);
  if (!problem) return;
  if (typeof problem.actual === 'number') over(limit, `${what} ${problem.why}`, problem.actual);
  throw new ApiError('bad_request', `${what} ${problem.why} (limit ${limit})`, { limit, actual: problem.actual });
}

/**
 * Refuses a begin request over a limit of LIMITS (400 naming it) or whose chunks do not
 * describe its artifacts (400). One pass over the request; it stops at the first problem.
 */
export function checkBeginLimits(req: BeginRequest): void {
  const hostProblem = hostNameProblem(req.host.name);
  if (hostProblem) over('hostNameBytes', `host name ${shown(req.host.name)} ${hostProblem}`, req.host.name.length);
  textProblem('collectorVersionBytes', 'collector.version', req.collector.version);
  if (req.host.systemUuid) textProblem('systemUuidBytes', 'host.systemUuid', req.host.systemUuid);
  if (req.artifacts.length > LIMITS.artifactsPerCapture) {
    over('artifactsPerCapture', `a capture holds at most ${LIMITS.artifactsPerCapture} artifacts; this one has ${req.artifacts.length}`, req.artifacts.length);
  }
  const sizes = new Map<string, number>();
  let captureChunks = 0;
  let captureBytes = 0;
  req.artifacts.forEach((a, i) => {
    const what = `artifact ${i} (${shown(a.fileName)})`;
    const nameProblem = fileNameProblem(a.fileName);
    if (nameProblem) over('fileNameBytes', `artifact ${i}: file name ${shown(a.fileName)} ${nameProblem}`, Buffer.byteLength(a.fileName, 'utf8'));
    textProblem('sourcePathBytes', `${what}: sourcePath`, a.sourcePath);
    if (a.device) textProblem('deviceBytes', `${what}: device`, a.device);
    if (a.size > LIMITS.artifactBytes) over('artifactBytes', `${what} is ${a.size} bytes; the limit is ${LIMITS.artifactBytes} (4 GiB)`, a.size);
    captureBytes += a.size;
    if (captureBytes > LIMITS.captureBytes)
      over('captureBytes', `the artifacts of this capture add up to more than ${LIMITS.captureBytes} bytes (32 GiB)`, captureBytes);
    if (a.chunks.length > LIMITS.chunksPerArtifact)
      over('chunksPerArtifact', `${what} has ${a.chunks.length} chunks; the limit is ${LIMITS.chunksPerArtifact}`, a.chunks.length);
    captureChunks += a.chunks.length;
    if (captureChunks > LIMITS.chunksPerCapture) over('chunksPerCapture', `this capture has more than ${LIMITS.chunksPerCapture} chunks`, captureChunks);
    let sum = 0;
    for (const c of a.chunks) {
      if (c.size > LIMITS.chunkBytes)
        over('chunkBytes', `${what}: chunk ${c.sha256} is ${c.size} bytes; a chunk holds at most ${LIMITS.chunkBytes} uncompressed`, c.size);
      if (c.storedSize !== undefined && c.storedSize > LIMITS.storedChunkBytes) {
        over('storedChunkBytes', `${what}: chunk ${c.sha256} would be stored as ${c.storedSize} bytes; the limit is ${LIMITS.storedChunkBytes}`, c.storedSize);
      }
      const encoding = c.encoding ?? 'identity';
      if (encoding === 'identity' && c.storedSize !== undefined && c.storedSize !== c.size) {
        throw new ApiError('bad_request', `${what}: chunk ${c.sha256} is identity-encoded but declares storedSize ${c.storedSize} ≠ size ${c.size}`);
      }
      if (encoding === 'gzip' && (c.storedSize === undefined || c.storedSha256 === undefined)) {
        throw new ApiError('bad_request', `${what}: gzip chunk ${c.sha256} needs storedSize and storedSha256`);
      }
      const seen = sizes.get(c.sha256);
      if (seen !== undefined && seen !== c.size) throw new ApiError('bad_request', `chunk ${c.sha256} is announced with two sizes (${seen} and ${c.size})`);
      sizes.set(c.sha256, c.size);
      sum += c.size;
    }
    if (sum !== a.size) throw new ApiError('bad_request', `${what}: its chunks add up to ${sum} bytes, not the announced ${a.size}`);
  });
}

/**
 * Refuses a begin body of more than LIMITS.requestJsonValues values (400 naming it), before
 * it is parsed: one pass over the text that stops at the limit.
 */
export function precheckBeginText(text: string): void {
  const max = LIMITS.requestJsonValues;
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character, a quote too
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if ((c === 0x2c || c === 0x7b || c === 0x5b) && ++values > max) {
      over('requestJsonValues', `the request holds more than ${max} JSON values (objects, arrays and commas counted)`, values);
    }
  }
}

/**
 * The counting limits, on the parsed JSON before it is validated: a request with
 * 100,000 chunks is refused here, without building or validating 100,000 objects.
 * Anything that is not the expected shape is left to validation.
 */
export function precheckBeginCounts(body: unknown): void {
  const artifacts = (body as { artifacts?: unknown } | null)?.artifacts;
  if (!Array.isArray(artifacts)) return;
  if (artifacts.length > LIMITS.artifactsPerCapture) {
    over('artifactsPerCapture', `a capture holds at most ${LIMITS.artifactsPerCapture} artifacts; this one has ${artifacts.length}`, artifacts.length);
  }
  let total = 0;
  artifacts.forEach((a: unknown, i) => {
    const chunks = (a as { chunks?: unknown } | null)?.chunks;
    if (!Array.isArray(chunks)) return;
    if (chunks.length > LIMITS.chunksPerArtifact)
      over('chunksPerArtifact', `artifact ${i} has ${chunks.length} chunks; the limit is ${LIMITS.chunksPerArtifact}`, chunks.length);
    total += chunks.length;
    if (total > LIMITS.chunksPerCapture) over('chunksPerCapture', `this capture has more than ${LIMITS.chunksPerCapture} chunks`, total);
  });
}
