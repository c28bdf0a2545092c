/**
 * A test client that speaks the real ingest protocol over HTTP, the way the
 * collector does: begin → PUT each missing chunk to its URL with its headers →
 * commit. The lower-level steps are exported for tests that tamper with one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { ArtifactKind } from '../../formats/types.js';
import type { ArtifactRef, ChunkEncoding, BeginRequest, BeginResponse, ChunkRef, CommitResponse, HostRef, UploadTarget } from '../../formats/protocol.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import type { TestCatalog } from './catalog.js';

export interface TestArtifact {
  kind: ArtifactKind;
  fileName: string;
  sourcePath?: string;
  device?: string | null;
  bytes: Uint8Array;
  /** Store the chunks gzip-compressed (declared in the begin call). */
  gzip?: boolean;
}

export interface IngestInput {
  host: string;
  hostKind?: HostRef['kind'];
  systemUuid?: string | null;
  /** Defaults to the catalog's admin token. */
  token?: string;
  captureId?: string;
  collectedAt?: string | Date;
  collectorVersion?: string;
  artifacts: TestArtifact[];
}

/** A prepared capture: the begin request plus the stored bytes of every chunk, by sha256. */
export interface PreparedCapture {
  request: BeginRequest;
  /**
   * sha256 of the uncompressed chunk → the bytes to PUT (gzipped when declared so).
   * A chunk shared by an identity and a gzip artifact maps to its gzip bytes, as the
   * catalog then asks for those; `variants` holds both.
   */
  stored: Map<string, Uint8Array>;
  variants: Map<string, Partial<Record<ChunkEncoding, Uint8Array>>>;
}

/** An error answer from the catalog, with its status and error code. */
export class IngestHttpError extends Error {
  constructor(
    readonly step: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${step} answered ${status}: ${JSON.stringify(body)}`);
    this.name = 'IngestHttpError';
  }
  get code(): string | undefined {
    return (this.body as { error?: { code?: string } } | null)?.error?.code;
  }
}

/** SHA-256 hex of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Base64 MD5 of some bytes (S3 upload URLs are bound to it). */
export function md5Base64(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}

/** A fresh UUIDv7 (time-ordered), as the collector picks capture ids. */
export function uuidv7(at: Date = new Date()): string {
  const b = randomBytes(16);
  const ms = BigInt(at.getTime());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Cuts an artifact into 1 MiB chunks, the way the collector does. */
export function chunkArtifact(a: TestArtifact): { ref: ArtifactRef; stored: Map<string, Uint8Array> } {
  const chunks: ChunkRef[] = [];
  const stored = new Map<string, Uint8Array>();
  for (let off = 0; off < a.bytes.length; off += CHUNK_SIZE) {
    const raw = a.bytes.subarray(off, Math.min(off + CHUNK_SIZE, a.bytes.length));
    const sha256 = sha256Hex(raw);
    if (a.gzip) {
      const gz = new Uint8Array(gzipSync(raw));
      chunks.push({ sha256, size: raw.length, encoding: 'gzip', storedSize: gz.length, storedSha256: sha256Hex(gz), storedMd5: md5Base64(gz) });
      stored.set(sha256, gz);
    } else {
      chunks.push({ sha256, size: raw.length, storedMd5: md5Base64(raw) });
      stored.set(sha256, raw);
    }
  }
  return {
    ref: {
      kind: a.kind,
      fileName: a.fileName,
      sourcePath: a.sourcePath ?? `/captures/${a.fileName}`,
      device: a.device ?? null,
      size: a.bytes.length,
      sha256: sha256Hex(a.bytes),
      chunks,
    },
    stored,
  };
}

/** Builds the begin request (and the chunk bytes) for a capture. */
export function prepareCapture(input: IngestInput): PreparedCapture {
  const stored = new Map<string, Uint8Array>();
  const variants = new Map<string, Partial<Record<ChunkEncoding, Uint8Array>>>();
  const artifacts = input.artifacts.map((a) => {
    const c = chunkArtifact(a);
    const encoding: ChunkEncoding = a.gzip ? 'gzip' : 'identity';
    for (const [k, v] of c.stored) {
      const vs = variants.get(k) ?? {};
      vs[encoding] ??= v;
      variants.set(k, vs);
      stored.set(k, vs.gzip ?? vs.identity!);
    }
    return c.ref;
  });
  const collectedAt = input.collectedAt instanceof Date ? input.collectedAt.toISOString() : (input.collectedAt ?? new Date().toISOString());
  return {
    request: {
      captureId: input.captureId ?? uuidv7(),
      host: { name: input.host, kind: input.hostKind ?? 'esxi', ...(input.systemUuid !== undefined ? { systemUuid: input.systemUuid } : {}) },
      collectedAt,
      collector: { version: input.collectorVersion ?? 'test-0' },
      artifacts,
    },
    stored,
    variants,
  };
}

async function json(step: string, res: Response): Promise<unknown> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep text */
  }
  if (!res.ok) throw new IngestHttpError(step, res.status, body);
  return body;
}

/** POST /v1/captures; throws IngestHttpError on an error answer. */
export async function begin(catalog: TestCatalog, request: BeginRequest, token: string = catalog.adminToken): Promise<BeginResponse> {
  const res = await catalog.request('/v1/captures', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  return (await json('begin', res)) as BeginResponse;
}

/**
 * PUTs bytes to an upload URL with its headers. The filesystem store's URLs point
 * at the catalog itself: without a listening socket they go through app.request().
 * Returns the raw response (tests of refused uploads look at its status).
 */
export async function putChunk(
  catalog: TestCatalog,
  target: Pick<UploadTarget, 'url' | 'headers'>,
  bytes: Uint8Array,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const init: RequestInit = { method: 'PUT', headers: { ...target.headers, ...extraHeaders }, body: bytes as unknown as BodyInit };
  if (!catalog.url && catalog.services.store.kind === 'fs') {
    const u = new URL(target.url);
    return catalog.app.request(u.pathname + u.search, init);
  }
  return fetch(target.url, init);
}

/** POST /v1/captures/{id}/commit; throws IngestHttpError on an error answer. */
export async function commit(catalog: TestCatalog, captureId: string, token: string = catalog.adminToken): Promise<CommitResponse> {
  const res = await catalog.request(`/v1/captures/${captureId}/commit`, { method: 'POST', token });
  return (await json('commit', res)) as CommitResponse;
}

/** Uploads every missing chunk of a begin answer; throws when the store refuses one. */
export async function uploadMissing(catalog: TestCatalog, prepared: PreparedCapture, answer: BeginResponse): Promise<void> {
  for (const target of answer.missing) {
    const bytes = prepared.variants?.get(target.sha256)?.[target.encoding] ?? prepared.stored.get(target.sha256);
    if (!bytes) throw new Error(`begin asked for chunk ${target.sha256} this capture does not have`);
    const res = await putChunk(catalog, target, bytes);
    if (!res.ok) throw new IngestHttpError(`PUT chunk ${target.sha256}`, res.status, await res.text());
  }
}

/** One whole capture over the real protocol: begin → PUT missing chunks → commit. */
export async function ingest(catalog: TestCatalog, input: IngestInput): Promise<CommitResponse> {
  const prepared = prepareCapture(input);
  const token = input.token ?? catalog.adminToken;
  const answer = await begin(catalog, prepared.request, token);
  await uploadMissing(catalog, prepared, answer);
  return commit(catalog, prepared.request.captureId, token);
}

/**
 * A catalog running elsewhere (a child `api/server.ts`), seen through the same shape
 * the protocol steps use. Only `url`, `adminToken` and `request` are real.
 */
export function remoteCatalog(url: string, adminToken: string): TestCatalog {
  const request = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const { token = adminToken, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    return fetch(url + path, { ...rest, headers });
  };
  const unavailable = () => {
    throw new Error('a remote catalog has no in-process app or services');
  };
  return {
    flavour: 'embedded',
    url,
    adminToken,
    dataDir: '',
    request,
    get app() {
      return unavailable();
    },
    get services() {
      return unavailable();
    },
    close: async () => {},
  } as unknown as TestCatalog;
}

/** A collector token for each host (POST /v1/tokens with the admin token), by host name. */
export async function collectorTokens(catalog: TestCatalog, hosts: string[]): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const host of hosts) {
    const res = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'collector', host, name: host }),
    });
    if (res.status !== 201) throw new IngestHttpError(`token for ${host}`, res.status, await res.text());
    tokens[host] = ((await res.json()) as { token: string }).token;
  }
  return tokens;
}

/** A body for PUT /v1/captures/{id}/chunks: per chunk its 32-byte hash, 4-byte big-endian stored length, the stored bytes. */
export function frameChunks(chunks: Array<[string, Uint8Array]>): Buffer {
  return Buffer.concat(
    chunks.flatMap(([sha, bytes]) => {
      const n = Buffer.alloc(4);
      n.writeUInt32BE(bytes.length);
      return [Buffer.from(sha, 'hex'), n, Buffer.from(bytes)];
    }),
  );
}

/** PUT /v1/captures/{id}/chunks with these chunks of a prepared capture (by hash, as stored); throws IngestHttpError on an error answer. */
export async function sendChunks(catalog: TestCatalog, prepared: PreparedCapture, shas: string[], token: string = catalog.adminToken): Promise<void> {
  const res = await catalog.request(`/v1/captures/${prepared.request.captureId}/chunks`, {
    method: 'PUT',
    token,
    headers: { 'content-type': 'application/octet-stream' },
    body: frameChunks(shas.map((s) => [s, prepared.stored.get(s)!])) as unknown as BodyInit,
  });
  await json('chunks', res);
}
