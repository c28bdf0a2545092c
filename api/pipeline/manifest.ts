/**
 * A committed capture's manifest as it rests in the store (formats/protocol.ts
 * `CaptureManifestV1`, `CaptureManifestV2`). Commit writes format 2: gzip-compressed JSON with
 * the capture's distinct chunks listed once and each artifact's chunk list as indexes into
 * them — on a daily run most of a manifest was the same chunk written out again (a LUN head's
 * zero chunk fifteen times), and it is the one object an unchanged day sends to the store.
 * Readers take both formats, told apart by the bytes (gzip magic), not the key.
 */
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { CaptureManifest, CaptureManifestV2, ManifestChunk } from '../../formats/protocol.js';
import { ARTIFACT_KINDS } from '../../formats/types.js';
import { artifactId, EARLIEST_COLLECTED_AT } from '../ingest/begin.js';
import { fileNameProblem, hostNameProblem, LIMITS, type LimitName, textValueProblem } from '../ingest/limits.js';
import { SHA256 } from '../schemas/ingest.js';
import { gunzipBounded } from './chunks.js';

const gzipAsync = promisify(gzip);
/** Manifests whose JSON is at most this many bytes are compressed on the calling thread (encodeManifest). */
const SYNC_GZIP_MAX_BYTES = 64 * 1024;

/**
 * The most a manifest may inflate to: a capture at every limit (10,000 artifacts with 4 KiB
 * source paths, 65,536 chunk references written out one by one in format 1) is about 60 MB.
 */
const MANIFEST_MAX_BYTES = 128 * 1024 * 1024;

/** The format 2 object of a manifest: distinct chunks once (first use first), artifacts as indexes. */
export function compactManifest(m: CaptureManifest): CaptureManifestV2 {
  const index = new Map<string, number>();
  const chunks: ManifestChunk[] = [];
  const artifacts = m.artifacts.map((a) => ({
    ...a,
    chunks: a.chunks.map((c) => {
      let i = index.get(c.sha256);
      if (i === undefined) {
        i = chunks.length;
        index.set(c.sha256, i);
        chunks.push({ sha256: c.sha256, size: c.size, encoding: c.encoding, storedSize: c.storedSize });
      }
      return i;
    }),
  }));
  const { captureId, host, collectedAt, receivedAt, committedAt, collector } = m;
  return { format: 'vmfs-catalog-manifest/2', captureId, host, collectedAt, receivedAt, committedAt, collector, artifacts, chunks };
}

/** The bytes commit stores: format 2, as compact JSON, gzip-compressed. */
export async function encodeManifest(m: CaptureManifest): Promise<Uint8Array> {
  const json = JSON.stringify(compactManifest(m));
  // A small capture's manifest (a few KiB) is compressed on this thread: 50–180 µs, where the
  // thread pool's round trip cost 260–530 µs of CPU. A large one goes to the pool.
  const out = Buffer.byteLength(json) <= SYNC_GZIP_MAX_BYTES ? gzipSync(json, { level: 9 }) : await gzipAsync(json, { level: 9 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Capture and artifact ids as the catalog writes them: lower-case UUIDs. */
const LowerUuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'is not a lower-case UUID');
const Count = (max: number) => z.number().int().nonnegative().max(max);
/** A string a begin would have taken (api/ingest/limits.ts): what rebuild writes from it, PostgreSQL stores. */
const Checked = (problem: (s: string) => string | null) =>
  z.string().superRefine((s, ctx) => {
    const why = problem(s);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });
const Text = (limit: LimitName) => Checked((s) => textValueProblem(limit, s)?.why ?? null);
const Instant = z
  .string()
  .datetime({ offset: true })
  .refine((s) => Date.parse(s) >= EARLIEST_COLLECTED_AT, 'is before year 1 in UTC');

const ManifestChunkShape = z.object({
  sha256: SHA256,
  size: Count(LIMITS.chunkBytes),
  encoding: z.enum(['identity', 'gzip']),
  storedSize: Count(LIMITS.storedChunkBytes),
});

const headerShape = {
  captureId: LowerUuid,
  host: z.object({
    name: Checked(hostNameProblem),
    kind: z.enum(['esx', 'esxi', 'solaris', 'linux']),
    systemUuid: Text('systemUuidBytes').nullable().optional(),
  }),
  collectedAt: Instant,
  receivedAt: Instant,
  committedAt: Instant,
  collector: z.object({ version: Text('collectorVersionBytes').min(1) }),
};

const artifactShape = {
  id: LowerUuid,
  kind: z.enum(ARTIFACT_KINDS),
  fileName: Checked(fileNameProblem),
  sourcePath: Text('sourcePathBytes'),
  device: Text('deviceBytes').nullable().optional(),
  size: Count(LIMITS.artifactBytes),
  sha256: SHA256,
};

const ManifestV1Shape = z.object({
  format: z.literal('vmfs-catalog-manifest/1'),
  ...headerShape,
  artifacts: z.array(z.object({ ...artifactShape, chunks: z.array(ManifestChunkShape).max(LIMITS.chunksPerArtifact) })).max(LIMITS.artifactsPerCapture),
});

/** Format 2's indexes are checked against its chunk table where they are looked up (`writtenOut`). */
const ManifestV2Shape = z.object({
  format: z.literal('vmfs-catalog-manifest/2'),
  ...headerShape,
  chunks: z.array(ManifestChunkShape).max(LIMITS.chunksPerCapture),
  artifacts: z
    .array(z.object({ ...artifactShape, chunks: z.array(z.number().int().nonnegative()).max(LIMITS.chunksPerArtifact) }))
    .max(LIMITS.artifactsPerCapture),
});

/** Where a problem is in a manifest, as a reader would write it: `artifacts[3].chunks[2]`. */
function placeOf(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(manifest)';
}

/** `x` as `shape` describes it, or an Error naming the first few fields that are not. */
function shaped<T>(shape: z.ZodType<T>, x: unknown, format: string): T {
  const result = shape.safeParse(x);
  if (result.success) return result.data;
  const { issues } = result.error;
  const listed = issues.slice(0, 3).map((i) => `${placeOf(i.path)}: ${i.message}`);
  const more = issues.length > 3 ? `; and ${issues.length - 3} more` : '';
  throw new Error(`${format} manifest with fields no commit writes: ${listed.join('; ')}${more}`);
}

/**
 * The manifest with each artifact's chunk list written out (`chunkOf`: format 2 looks an index
 * up in its table, refusing one outside it), checked in the same walk for what the shapes cannot
 * say and commit always wrote: each artifact's id is the one commit gives it (`artifactId`, so a
 * commit retried after a rebuild answers the same ids), its chunks add up to its size, a chunk
 * has one size throughout, an identity chunk is stored at its size, and the capture holds at
 * most as many chunk references as a begin may declare. Stops at the first problem.
 */
function writtenOut<Ref>(
  m: Omit<CaptureManifest, 'artifacts'> & { artifacts: Array<Omit<CaptureManifest['artifacts'][number], 'chunks'> & { chunks: Ref[] }> },
  chunkOf: (ref: Ref, where: string) => ManifestChunk,
): CaptureManifest {
  const { captureId, host, collectedAt, receivedAt, committedAt, collector } = m;
  const sizes = new Map<string, number>();
  let references = 0;
  const artifacts = m.artifacts.map((a, n) => {
    const where = `manifest artifacts[${n}]`;
    if (a.id !== artifactId(captureId, n)) throw new Error(`${where} has id ${a.id}; commit gives it ${artifactId(captureId, n)}`);
    references += a.chunks.length;
    if (references > LIMITS.chunksPerCapture) throw new Error(`manifest has more than ${LIMITS.chunksPerCapture} chunk references`);
    let sum = 0;
    const chunks = a.chunks.map((ref) => {
      const c = chunkOf(ref, where);
      if (c.encoding === 'identity' && c.storedSize !== c.size)
        throw new Error(`${where}: identity chunk ${c.sha256} is stored as ${c.storedSize} bytes, not its ${c.size}`);
      const seen = sizes.get(c.sha256);
      if (seen === undefined) sizes.set(c.sha256, c.size);
      else if (seen !== c.size) throw new Error(`${where}: chunk ${c.sha256} has two sizes (${seen} and ${c.size})`);
      sum += c.size;
      return c;
    });
    if (sum !== a.size) throw new Error(`${where}: its chunks add up to ${sum} bytes, not its size ${a.size}`);
    return { ...a, chunks };
  });
  return { captureId, host, collectedAt, receivedAt, committedAt, collector, artifacts };
}

/**
 * A manifest's bytes read back, whichever format: format 1 (plain JSON) or format 2 (gzip),
 * checked field by field against what a commit writes (a damaged or hand-edited manifest is an
 * Error naming the field, never a wrong capture). Its chunks hold a ManifestChunk's four fields
 * and nothing else (a format 2 table entry is one object for each of its uses). Throws on
 * anything else, naming what it found.
 */
export async function decodeManifest(bytes: Uint8Array): Promise<CaptureManifest> {
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = new TextDecoder().decode(gzipped ? await gunzipBounded(bytes, MANIFEST_MAX_BYTES, 64 * 1024) : bytes);
  const x = JSON.parse(text) as unknown;
  const format = x && typeof x === 'object' ? (x as { format?: unknown }).format : undefined;
  if (format === 'vmfs-catalog-manifest/1') return writtenOut(shaped(ManifestV1Shape, x, 'format 1'), (c) => c);
  if (format === 'vmfs-catalog-manifest/2') {
    const m = shaped(ManifestV2Shape, x, 'format 2');
    return writtenOut(m, (i, where) => {
      const c = m.chunks[i];
      if (!c) throw new Error(`${where} names chunk ${i}, not in its table of ${m.chunks.length}`);
      return c;
    });
  }
  throw new Error(`not a vmfs-catalog-manifest/1 or /2 object (format ${JSON.stringify(format ?? null)})`);
}
