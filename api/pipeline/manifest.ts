/**
 * A committed capture's manifest as it rests in the store (formats/protocol.ts
 * `CaptureManifestV1`, `V2`, `V3`), and the chunk lists format 3 names (`ChunkListV1`).
 * Commit writes format 3: gzip-compressed JSON naming each artifact's chunk list by its
 * SHA-256, the list itself stored once as a chunk. The manifest is the one object an
 * unchanged day sends to the store; format 2 still listed the capture's ~350 distinct chunk
 * hashes, 32 bytes each that no compression folds (22.4 KiB for 50 LUN heads), where an
 * unchanged artifact's list is yesterday's, already stored. Format 2 listed the distinct chunks
 * once with indexes (format 1 wrote a LUN head's zero chunk out fifteen times).
 * Readers take all three formats, told apart by the bytes (gzip magic, `format`), not the key.
 */
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { CaptureManifest, CaptureManifestV2, CaptureManifestV3, ChunkListV1, ManifestChunk } from '../../formats/protocol.js';
import { ARTIFACT_KINDS } from '../../formats/types.js';
import { artifactId, EARLIEST_COLLECTED_AT, LATEST_COLLECTED_AT } from '../ingest/begin.js';
import { fileNameProblem, hostNameProblem, LIMITS, type LimitName, textValueProblem } from '../ingest/limits.js';
import { SHA256 } from '../schemas/ingest.js';
import { gunzipBounded, sha256Hex } from './chunks.js';

const gzipAsync = promisify(gzip);
/** Manifests whose JSON is at most this many bytes are compressed on the calling thread (encodeManifest). */
const SYNC_GZIP_MAX_BYTES = 64 * 1024;

/**
 * The most a manifest may inflate to: a capture at every limit (10,000 artifacts with 4 KiB
 * source paths, 65,536 chunk references written out one by one in format 1) is about 60 MB.
 */
const MANIFEST_MAX_BYTES = 128 * 1024 * 1024;

/**
 * The most a chunk list may inflate to: a chunk's bound. A list at its artifact's limit (4,096
 * distinct chunks of 1 MiB stored as identity, about 137 bytes of JSON each, and their order)
 * is about 580 KB, so every list fits where a chunk fits: scrub reads it as one.
 */
const CHUNK_LIST_MAX_BYTES = LIMITS.chunkBytes;

/** Distinct chunks once (first use first) and the uses as indexes into them. */
function tableOf(uses: ManifestChunk[], index: Map<string, number>, table: ManifestChunk[]): number[] {
  return uses.map((c) => {
    let i = index.get(c.sha256);
    if (i === undefined) {
      i = table.length;
      index.set(c.sha256, i);
      table.push({ sha256: c.sha256, size: c.size, encoding: c.encoding, storedSize: c.storedSize });
    }
    return i;
  });
}

/** The format 2 object of a manifest: distinct chunks once (first use first), artifacts as indexes. */
export function compactManifest(m: CaptureManifest): CaptureManifestV2 {
  const index = new Map<string, number>();
  const chunks: ManifestChunk[] = [];
  const artifacts = m.artifacts.map(({ chunkList: _, ...a }) => ({ ...a, chunks: tableOf(a.chunks, index, chunks) }));
  const { captureId, host, collectedAt, receivedAt, committedAt, collector } = m;
  return { format: 'vmfs-catalog-manifest/2', captureId, host, collectedAt, receivedAt, committedAt, collector, artifacts, chunks };
}

/** JSON gzip-compressed: a small object (a few KiB) on this thread, a large one on the pool. */
async function gzipJson(json: string): Promise<Uint8Array> {
  // 50–180 µs for a few KiB on this thread, where the thread pool's round trip cost 260–530 µs of CPU.
  const out = Buffer.byteLength(json) <= SYNC_GZIP_MAX_BYTES ? gzipSync(json, { level: 9 }) : await gzipAsync(json, { level: 9 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Format 2's bytes (what commits wrote before format 3): compact JSON, gzip-compressed. */
export async function encodeManifestV2(m: CaptureManifest): Promise<Uint8Array> {
  return gzipJson(JSON.stringify(compactManifest(m)));
}

/** A chunk list as stored: the chunk it is (named by its JSON's SHA-256) and its gzip bytes. */
export interface EncodedChunkList {
  chunk: ManifestChunk;
  stored: Uint8Array;
}

/**
 * An artifact's chunk list as a chunk: canonical JSON (ChunkListV1, keys in one order, no
 * spaces: the same chunks give the same bytes, so the same name), gzip-compressed.
 */
export async function encodeChunkList(a: Pick<CaptureManifest['artifacts'][number], 'size' | 'sha256' | 'chunks'>): Promise<EncodedChunkList> {
  const chunks: ManifestChunk[] = [];
  const order = tableOf(a.chunks, new Map(), chunks);
  const list: ChunkListV1 = { format: 'vmfs-catalog-chunk-list/1', size: a.size, sha256: a.sha256, chunks, order };
  const json = JSON.stringify(list);
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > CHUNK_LIST_MAX_BYTES)
    throw new Error(`chunk list of ${a.chunks.length} chunks is ${bytes.length} bytes, past a chunk's ${CHUNK_LIST_MAX_BYTES}`);
  const stored = await gzipJson(json);
  return { chunk: { sha256: sha256Hex(bytes), size: bytes.length, encoding: 'gzip', storedSize: stored.length }, stored };
}

/**
 * The bytes commit stores: format 3, as compact JSON, gzip-compressed. Every artifact must
 * carry its chunk list (`chunkList`, from encodeChunkList), stored before the manifest.
 */
export async function encodeManifest(m: CaptureManifest): Promise<Uint8Array> {
  const { captureId, host, collectedAt, receivedAt, committedAt, collector } = m;
  const artifacts = m.artifacts.map((a, n) => {
    if (!a.chunkList) throw new Error(`manifest artifacts[${n}] has no chunk list stored`);
    return { kind: a.kind, fileName: a.fileName, sourcePath: a.sourcePath, device: a.device ?? null, chunkList: a.chunkList.sha256 };
  });
  const v3: CaptureManifestV3 = { format: 'vmfs-catalog-manifest/3', captureId, host, collectedAt, receivedAt, committedAt, collector, artifacts };
  return gzipJson(JSON.stringify(v3));
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
  .refine((s) => Date.parse(s) >= EARLIEST_COLLECTED_AT, 'is before year 1 in UTC')
  .refine((s) => Date.parse(s) <= LATEST_COLLECTED_AT, 'is after year 9999 in UTC');

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
  collector: z.object({ version: Text('collectorVersionBytes').min(1), mode: z.enum(['collect', 'import']).optional() }),
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

/** Format 3 names each artifact's chunk list; what the list holds is checked where it is read (decodeChunkList). */
const ManifestV3Shape = z.object({
  format: z.literal('vmfs-catalog-manifest/3'),
  ...headerShape,
  artifacts: z
    .array(
      z.object({
        kind: artifactShape.kind,
        fileName: artifactShape.fileName,
        sourcePath: artifactShape.sourcePath,
        device: artifactShape.device,
        chunkList: SHA256,
      }),
    )
    .max(LIMITS.artifactsPerCapture),
});

const ChunkListShape = z.object({
  format: z.literal('vmfs-catalog-chunk-list/1'),
  size: artifactShape.size,
  sha256: SHA256,
  chunks: z.array(ManifestChunkShape).max(LIMITS.chunksPerArtifact),
  order: z.array(z.number().int().nonnegative()).max(LIMITS.chunksPerArtifact),
});

/** Where a problem is in a manifest, as a reader would write it: `artifacts[3].chunks[2]`. */
function placeOf(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(manifest)';
}

/** `x` as `shape` describes it, or an Error naming the first few fields that are not (`what`: `format 2 manifest`). */
function shaped<T>(shape: z.ZodType<T>, x: unknown, what: string): T {
  const result = shape.safeParse(x);
  if (result.success) return result.data;
  const { issues } = result.error;
  const listed = issues.slice(0, 3).map((i) => `${placeOf(i.path)}: ${i.message}`);
  const more = issues.length > 3 ? `; and ${issues.length - 3} more` : '';
  throw new Error(`${what} with fields no commit writes: ${listed.join('; ')}${more}`);
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
  placeOf: (n: number) => string = (n) => `manifest artifacts[${n}]`,
  positions?: readonly number[],
): CaptureManifest {
  const { captureId, host, collectedAt, receivedAt, committedAt, collector } = m;
  const sizes = new Map<string, number>();
  let references = 0;
  const artifacts = m.artifacts.map((a, k) => {
    // Its place in the manifest: the artifacts may be some of them (decodeManifestPartly).
    const n = positions?.[k] ?? k;
    const where = placeOf(n);
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

/** An artifact's chunk list read back (decodeChunkList): its chunks written out, and the chunk it rests as. */
export interface ChunkList {
  size: number;
  sha256: string;
  chunks: ManifestChunk[];
  /** The list itself as a chunk: its SHA-256, its JSON's size, how it is stored. */
  stored: ManifestChunk;
}

/** Where a format 3 manifest's reader finds a chunk list by its SHA-256 (api/pipeline/chunk-lists.ts chunkListReader). */
export type ChunkListSource = (sha256: string) => Promise<ChunkList>;

/**
 * A chunk list's stored bytes (`chunks/<sha256>`, gzip or, when a host stored the same bytes
 * as a chunk of its own, identity) read back: they must hash to `sha256`, have ChunkListV1's
 * shape within an artifact's limits, and each index of `order` be inside its table. Throws an
 * Error naming the list otherwise. The chunks' sums and sizes are checked with the manifest's
 * (writtenOut).
 */
export async function decodeChunkList(sha256: string, raw: Uint8Array): Promise<ChunkList> {
  const gzipped = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  let json: Uint8Array;
  try {
    json = gzipped ? await gunzipBounded(raw, CHUNK_LIST_MAX_BYTES, Math.min(CHUNK_LIST_MAX_BYTES, raw.length * 4)) : raw;
  } catch (e) {
    throw new Error(`chunk list ${sha256} does not inflate: ${(e as Error).message}`);
  }
  const actual = sha256Hex(json);
  if (actual !== sha256) throw new Error(`chunk list ${sha256} does not hash to its name (its bytes hash to ${actual})`);
  let x: unknown;
  try {
    x = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw new Error(`chunk list ${sha256} is not JSON: ${(e as Error).message}`);
  }
  const list = shaped(ChunkListShape, x, `chunk list ${sha256}`);
  const chunks = list.order.map((i, k) => {
    const c = list.chunks[i];
    if (!c) throw new Error(`chunk list ${sha256}: order[${k}] names chunk ${i}, not in its table of ${list.chunks.length}`);
    return c;
  });
  return {
    size: list.size,
    sha256: list.sha256,
    chunks,
    stored: { sha256, size: json.length, encoding: gzipped ? 'gzip' : 'identity', storedSize: raw.length },
  };
}

/** How many chunk lists one manifest's reader asks for at once. */
const LISTS_AT_ONCE = 8;

/** Each distinct list of a format 3 manifest, a few at a time: those read, and why each other one was not. */
async function listsOf(m: z.infer<typeof ManifestV3Shape>, lists: ChunkListSource): Promise<{ found: Map<string, ChunkList>; failed: Map<string, string> }> {
  const wanted = [...new Set(m.artifacts.map((a) => a.chunkList))];
  const found = new Map<string, ChunkList>();
  const failed = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < wanted.length) {
      const sha = wanted[next++];
      try {
        found.set(sha, await lists(sha));
      } catch (e) {
        failed.set(sha, (e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LISTS_AT_ONCE, wanted.length) }, worker));
  return { found, failed };
}

/**
 * An artifact of a format 3 manifest whose chunk list is missing or damaged (or does not add
 * up to it), left out of what decodeManifestPartly answers: its place in the manifest (its id
 * is `artifactId(captureId, index)`), its file name, the list it names, and why.
 */
export interface LeftOutArtifact {
  index: number;
  fileName: string;
  chunkList: string;
  message: string;
}

/** A manifest read back with the artifacts whose chunk list reads (decodeManifestPartly). */
export interface PartlyDecoded {
  /** The artifacts that read, each with the id of its place in the manifest. */
  manifest: CaptureManifest;
  /** Each artifact's place in the manifest, in `manifest.artifacts`' order. */
  positions: number[];
  leftOut: LeftOutArtifact[];
}

/** Format 3 with the artifacts whose list reads and checks out, and why each other one does not. */
async function decodeV3(m: z.infer<typeof ManifestV3Shape>, lists: ChunkListSource): Promise<PartlyDecoded> {
  const { found, failed } = await listsOf(m, lists);
  const placeOf = (n: number) => `manifest artifacts[${n}] (chunk list ${m.artifacts[n].chunkList})`;
  const kept: CaptureManifest['artifacts'] = [];
  const positions: number[] = [];
  const leftOut: LeftOutArtifact[] = [];
  for (const [n, a] of m.artifacts.entries()) {
    const list = found.get(a.chunkList);
    const left = (message: string) => leftOut.push({ index: n, fileName: a.fileName, chunkList: a.chunkList, message });
    if (!list) {
      left(`manifest artifacts[${n}] (${a.fileName}): ${failed.get(a.chunkList)}`);
      continue;
    }
    const artifact = {
      id: artifactId(m.captureId, n),
      kind: a.kind,
      fileName: a.fileName,
      sourcePath: a.sourcePath,
      device: a.device ?? null,
      size: list.size,
      sha256: list.sha256,
      chunks: list.chunks,
      chunkList: list.stored,
    };
    try {
      // What a list alone must hold (its chunks add up to its size, …), asked of this artifact alone.
      writtenOut({ ...m, artifacts: [artifact] }, (c) => c, placeOf, [n]);
    } catch (e) {
      left((e as Error).message);
      continue;
    }
    kept.push(artifact);
    positions.push(n);
  }
  // What holds across artifacts (a chunk's one size, the capture's references) is the manifest's.
  return { manifest: writtenOut({ ...m, artifacts: kept }, (c) => c, placeOf, positions), positions, leftOut };
}

/**
 * A manifest's bytes read back, whichever format: format 1 (plain JSON), format 2 or 3
 * (gzip), checked field by field against what a commit writes (a damaged or hand-edited
 * manifest is an Error naming the field, never a wrong capture). Format 3 reads each artifact's
 * chunk list from `lists` (one missing or damaged is an Error naming each such artifact and its
 * list; decodeManifestPartly answers the others instead); its artifacts carry the list as
 * `chunkList`. Its chunks hold a ManifestChunk's four fields and nothing else (a table entry is
 * one object for each of its uses). Throws on anything else, naming what it found.
 */
export async function decodeManifest(bytes: Uint8Array, lists?: ChunkListSource): Promise<CaptureManifest> {
  const { manifest, leftOut } = await decodeManifestPartly(bytes, lists);
  if (leftOut.length > 0) throw new Error(leftOut.map((l) => l.message).join('; '));
  return manifest;
}

/**
 * decodeManifest, but a format 3 artifact whose chunk list is missing or damaged is left out
 * and said why (`leftOut`) rather than failing the manifest: a list is shared by every capture
 * of the same bytes, on any host and day, so one lost object would otherwise cost each of
 * those captures all its artifacts (rebuild, api/admin/rebuild.ts). Whatever else is wrong
 * with the manifest still throws.
 */
export async function decodeManifestPartly(bytes: Uint8Array, lists?: ChunkListSource): Promise<PartlyDecoded> {
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = new TextDecoder().decode(gzipped ? await gunzipBounded(bytes, MANIFEST_MAX_BYTES, 64 * 1024) : bytes);
  const x = JSON.parse(text) as unknown;
  const format = x && typeof x === 'object' ? (x as { format?: unknown }).format : undefined;
  const whole = (manifest: CaptureManifest): PartlyDecoded => ({ manifest, positions: manifest.artifacts.map((_, n) => n), leftOut: [] });
  if (format === 'vmfs-catalog-manifest/1') return whole(writtenOut(shaped(ManifestV1Shape, x, 'format 1 manifest'), (c) => c));
  if (format === 'vmfs-catalog-manifest/2') {
    const m = shaped(ManifestV2Shape, x, 'format 2 manifest');
    return whole(
      writtenOut(m, (i, where) => {
        const c = m.chunks[i];
        if (!c) throw new Error(`${where} names chunk ${i}, not in its table of ${m.chunks.length}`);
        return c;
      }),
    );
  }
  if (format === 'vmfs-catalog-manifest/3') {
    const m = shaped(ManifestV3Shape, x, 'format 3 manifest');
    if (!lists) throw new Error('a format 3 manifest is read with its chunk lists, and none were given');
    return decodeV3(m, lists);
  }
  throw new Error(`not a vmfs-catalog-manifest/1, /2 or /3 object (format ${JSON.stringify(format ?? null)})`);
}
