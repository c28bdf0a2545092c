/**
 * Blob store on any S3-compatible server through @aws-sdk/client-s3 (AWS, MinIO,
 * Ceph, Garage, R2, OpenStack Swift's s3api). Uploads never pass through the API:
 * the collector PUTs to URLs presigned here, bound to one key, expiry, length and body.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Upload } from '@aws-sdk/lib-storage';
import { SignatureV4 } from '@smithy/signature-v4';
import { ApiError, isUnavailable } from '../errors.js';
import { attachmentDisposition } from './content-disposition.js';
import {
  BlobNotFoundError,
  stagingPrefix,
  type BlobStore,
  type ObjectInfo,
  type PresignedRequest,
  type PresignPutOptions,
  STORE_OUTAGE_MEMORY_MS,
} from './types.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** For servers other than AWS (e.g. http://127.0.0.1:18480). */
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the standard AWS chain (env, profile, role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** The clock presigned URLs are signed with; tests pass a fake one. */
  now?: () => Date;
  /** Keys per ListObjectsV2 page (S3's maximum and default is 1000). */
  listPageSize?: number;
  /** Milliseconds a request may sit without a byte moving (connect, send, answer) before it fails; default 10 s. */
  timeoutMs?: number;
  /** Tries per request, the first included (the SDK's standard retry with backoff); default 3. */
  maxAttempts?: number;
  /**
   * S3 Object Lock (only for buckets created with it; never on servers without it, such as
   * Swift): chunk and manifest PUTs carry this mode and the date `retainUntil` answers for
   * the key; retention runs extend the date (api/retention/object-lock.ts).
   */
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; retainUntil: (key: string) => Date };
}

export const S3_DEFAULT_TIMEOUT_MS = 10_000;
export const S3_DEFAULT_MAX_ATTEMPTS = 3;

const HEX64 = /^[0-9a-f]{64}$/;
const BASE64_MD5 = /^[A-Za-z0-9+/]{22}==$/;

/** The S3 client settings every part of the catalog uses. */
export function s3ClientConfig(options: Omit<S3BlobStoreOptions, 'bucket' | 'now' | 'listPageSize'>): S3ClientConfig {
  return {
    region: options.region ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.accessKeyId && options.secretAccessKey ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } } : {}),
    // The defaults send streamed bodies aws-chunked with a CRC32 trailer, which
    // servers that do not decode it (Swift answers 501) reject or store corrupted.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A hung or unreachable server must not hang requests: the connection attempt and
    // every quiet stretch of a request are bounded (socketTimeout is inactivity, so a
    // long download that keeps moving is not cut), and failed tries are bounded too.
    requestHandler: {
      connectionTimeout: Math.min(options.timeoutMs ?? S3_DEFAULT_TIMEOUT_MS, 3000),
      socketTimeout: options.timeoutMs ?? S3_DEFAULT_TIMEOUT_MS,
    },
    maxAttempts: options.maxAttempts ?? S3_DEFAULT_MAX_ATTEMPTS,
  };
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
}

/** BlobStore on an S3 bucket. */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly now: () => Date;
  private readonly listPageSize: number | undefined;
  /** Whether the server honours `If-None-Match: *` on PUT; undefined until the first try. */
  private conditionalPuts: boolean | undefined;
  readonly objectLock: S3BlobStoreOptions['objectLock'];
  /** When the server last failed to answer (recentlyUnavailable); 0 once it answered since. */
  private outageAt = 0;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.client = new S3Client(s3ClientConfig(options));
    // Every request's outcome, after the SDK's own tries: an outage is remembered, any answer
    // (a 404 included) forgets it.
    this.client.middlewareStack.add(
      (next: (args: any) => Promise<any>) => async (args: any) => {
        try {
          const out = await next(args);
          // (A presigned URL runs this stack too, but never reaches the server: no status.)
          if (typeof out?.response?.statusCode === 'number') this.outageAt = 0;
          return out;
        } catch (e) {
          // 501 is an answer (a feature the server lacks, e.g. conditional PUTs), not an outage.
          this.outageAt = isUnavailable(e) && statusOf(e) !== 501 ? Date.now() : 0;
          throw e;
        }
      },
      { step: 'initialize', name: 'catalogOutageMemory' },
    );
    this.now = options.now ?? (() => new Date());
    this.listPageSize = options.listPageSize;
    this.objectLock = options.objectLock;
  }

  /**
   * Object Lock parameters for a PUT of this key: chunks and manifests only (staging and
   * bundles stay deletable). S3 requires a Content-MD5 (or checksum) on a PUT that sets a
   * retention date, so it is sent with the lock.
   */
  private lockParams(key: string, body: Uint8Array | null) {
    if (!this.objectLock || !(key.startsWith('chunks/') || key.startsWith('manifests/'))) return {};
    return {
      ObjectLockMode: this.objectLock.mode,
      ObjectLockRetainUntilDate: this.objectLock.retainUntil(key),
      ...(body ? { ContentMD5: contentMd5(body) } : {}),
    };
  }

  recentlyUnavailable(): boolean {
    return this.outageAt !== 0 && Date.now() - this.outageAt < STORE_OUTAGE_MEMORY_MS;
  }

  /** The retain-until date Object Lock holds the object to, or null (no lock, or absent). */
  async lockedUntil(key: string): Promise<Date | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.ObjectLockRetainUntilDate ?? null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Extends an object's Object Lock retention to `until` (S3 only ever lengthens it in COMPLIANCE mode). */
  async extendLock(key: string, until: Date): Promise<void> {
    if (!this.objectLock) return;
    await this.client.send(
      new PutObjectRetentionCommand({
        Bucket: this.bucket,
        Key: key,
        Retention: { Mode: this.objectLock.mode, RetainUntilDate: until },
      }),
    );
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Streams an object or a range of it (inclusive end, clamped to the size); RangeError when it starts past the end. */
  async getStream(key: string, range?: { start: number; end: number }): Promise<Readable> {
    if (range && (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start)) {
      throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      if (!out.Body) return Readable.from([]);
      // On Node the SDK body is an http.IncomingMessage, already a Readable.
      return out.Body instanceof Readable ? out.Body : Readable.fromWeb(out.Body.transformToWebStream() as import('node:stream/web').ReadableStream);
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key);
      if ((err as { name?: string }).name === 'InvalidRange' || statusOf(err) === 416) {
        throw new RangeError(`byte range ${range?.start}-${range?.end} starts past the end of ${key}`);
      }
      throw err;
    }
  }

  /**
   * Writes an object with PutObject (S3 makes it visible only once complete). A stream
   * needs its length (PutObject cannot send an unknown-length body plainly); without
   * one it is read into memory first, which is fine for chunks and manifests.
   */
  async put(key: string, body: Uint8Array | Readable, contentLength?: number): Promise<void> {
    let payload: Uint8Array | Readable = body;
    let length = contentLength;
    if (!(body instanceof Uint8Array) && length === undefined) {
      const parts: Uint8Array[] = [];
      for await (const part of body) parts.push(part as Uint8Array);
      payload = Buffer.concat(parts);
    }
    if (payload instanceof Uint8Array) {
      if (length !== undefined && length !== payload.byteLength) throw new Error(`body of ${key} has ${payload.byteLength} bytes, ${length} announced`);
      length = payload.byteLength;
    }
    const lock = this.lockParams(key, payload instanceof Uint8Array ? payload : null);
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: payload, ContentLength: length, ...lock }));
  }

  /**
   * Multipart upload through lib-storage: parts of PUT_STREAM_PART_BYTES, at most two in
   * flight, so an assembled bundle of any size costs ~16 MiB of memory and no local disk
   * (Lambda's /tmp is small). A stream that fails midway aborts the upload; the bucket's
   * lifecycle rule removes what an aborted process leaves.
   */
  async putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<number> {
    let size = 0;
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of body) {
          size += chunk.byteLength;
          yield chunk;
        }
      })(),
    );
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: counted },
      partSize: PUT_STREAM_PART_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
    return size;
  }

  /**
   * Write once: PutObject with `If-None-Match: *` (412 when the key exists). Servers that
   * do not implement conditional writes (Swift's s3api answers 501) are remembered and
   * get "HEAD, then PUT only if absent" instead — or just the PUT when the caller saw the
   * key absent in a listing moments ago (`seenAbsent`). That fallback has a window between
   * the look and the PUT, which is harmless here: only the commit writes chunk keys, always
   * with bytes it verified against the key's hash, so a racing writer writes the same chunk.
   * Until the server has answered one conditional PUT, others wait for that answer, so a
   * burst of publishes costs one 501, not one per request in flight.
   */
  async putIfAbsent(key: string, body: Uint8Array, options: { seenAbsent?: boolean } = {}): Promise<'created' | 'exists'> {
    while (this.conditionalPuts === undefined && this.probing) await this.probing.catch(() => {});
    if (this.conditionalPuts !== false) {
      let settle = () => {};
      if (this.conditionalPuts === undefined) this.probing = new Promise<void>((resolve) => (settle = resolve));
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentLength: body.byteLength,
            IfNoneMatch: '*',
            ...this.lockParams(key, body),
          }),
        );
        this.conditionalPuts = true;
        return 'created';
      } catch (err) {
        const status = statusOf(err);
        // 409 ConditionalRequestConflict: a concurrent conditional write won; the key is taken.
        if (status === 412 || status === 409) {
          this.conditionalPuts = true;
          return 'exists';
        }
        if (status !== 501 && (err as { name?: string }).name !== 'NotImplemented') throw err;
        this.conditionalPuts = false;
      } finally {
        settle();
      }
    }
    if (!options.seenAbsent && (await this.head(key))) return 'exists';
    await this.put(key, body);
    return 'created';
  }

  /** A conditional PUT in flight while conditionalPuts is still unknown. */
  private probing: Promise<void> | undefined;

  /** Whether `If-None-Match: *` is honoured: undefined until the server answered one. */
  conditionalWrites(): boolean | undefined {
    return this.conditionalPuts;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Nothing to prepare: a presigned URL is the only way in, and it expires. */
  async openStaging(): Promise<void> {}

  /**
   * Removes a capture's staged uploads. A few go before this returns; a larger area is
   * removed in the background (see settled): Swift's s3api deletes one object at a time
   * even inside a Multi-Object Delete (~20 ms each), so hundreds would hold up a commit's
   * answer for seconds. What a process that dies meanwhile leaves behind, the staging
   * sweep (api/ingest/staging.ts) and the bucket's lifecycle rule for `staging/` remove.
   * `background` (a commit): the listing goes there too — a request (~30 ms on Swift), most
   * often of an empty area, as a daily run's few new chunks come through the catalog.
   */
  async closeStaging(captureId: string, options: { background?: boolean } = {}): Promise<void> {
    const keys: string[] = [];
    const listed = (async () => {
      for await (const o of this.list(stagingPrefix(captureId))) keys.push(o.key);
    })();
    if (!options.background) await listed;
    if (!options.background && keys.length <= CLEANUP_INLINE_KEYS) return this.deleteKeys(keys);
    const work: Promise<void> = listed
      .then(() => this.deleteKeys(keys))
      .catch(() => {})
      .finally(() => this.cleanups.delete(work));
    this.cleanups.add(work);
  }

  /** Staging areas closeStaging is still removing. */
  private readonly cleanups = new Set<Promise<void>>();

  /** Resolves once every removal closeStaging left running has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.cleanups]);
  }

  /** Whether the server takes Multi-Object Delete; undefined until it answered one. */
  private multiDelete: boolean | undefined;

  /**
   * Deletes keys with one Multi-Object Delete per 1000 (S3's limit) instead of one request
   * each; servers that refuse it (501) get single deletes, 16 at a time. An absent key is
   * no error, as with DeleteObject.
   */
  async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length && this.multiDelete !== false; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const out = await this.client.send(
          withContentMd5(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
        );
        this.multiDelete = true;
        const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length > 0)
          throw new Error(`deleting ${failed.length} object(s) failed, first ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message ?? ''}`.trim());
        if (i + 1000 >= keys.length) return;
      } catch (err) {
        const status = statusOf(err);
        if (this.multiDelete === true || (status !== 501 && status !== 405 && (err as { name?: string }).name !== 'NotImplemented')) throw err;
        this.multiDelete = false;
        keys = keys.slice(i);
      }
    }
    for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((k) => this.delete(k)));
  }

  /** Every object under a prefix in key order, following ListObjectsV2 continuation tokens. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.listPageSize }),
      );
      for (const obj of out.Contents ?? []) {
        if (obj.Key !== undefined) yield { key: obj.Key, size: obj.Size ?? 0 };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * A presigned PUT that the server accepts only for this key, before expiry, with exactly
   * `contentLength` bytes whose MD5 is `contentMd5`. Signed headers: host, content-length,
   * content-md5 and x-amz-checksum-sha256; the client must send them as returned.
   *
   * Why not the SHA-256 as the signed payload hash (`x-amz-content-sha256`): for
   * query-string auth, Swift's s3api (2.30, s3request.py `_canonical_request`) always
   * signs `UNSIGNED-PAYLOAD`, so such a URL fails even for the right body (403
   * SignatureDoesNotMatch), and it would not check the hash either. Content-MD5 belongs
   * to the original S3 PutObject contract: signed, it cannot be swapped, and Swift and
   * AWS answer another body with 400 BadDigest. `x-amz-checksum-sha256` adds the SHA-256
   * check where the server implements it (AWS does; Swift ignores it); the commit
   * re-checks every chunk's SHA-256 anyway.
   */
  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedRequest> {
    if (!Number.isSafeInteger(options.contentLength) || options.contentLength < 0) throw new RangeError('contentLength must be a non-negative integer');
    const sha256 = options.payloadSha256.toLowerCase();
    if (!HEX64.test(sha256)) throw new RangeError('payloadSha256 must be 64 hex digits');
    if (!options.contentMd5 || !BASE64_MD5.test(options.contentMd5)) {
      // A client input problem (the begin call must announce each stored chunk's MD5),
      // hence a 400 rather than a 500.
      throw new ApiError(
        'bad_request',
        'uploads to the S3 store need the base64 MD5 of each stored chunk: S3 servers verify it, which binds the upload URL to one body',
      );
    }
    const headers: Record<string, string> = {
      'content-length': String(options.contentLength),
      'content-md5': options.contentMd5,
      'x-amz-checksum-sha256': Buffer.from(sha256, 'hex').toString('base64'),
    };
    const signedAt = this.now();
    const url = PLAIN_KEY.test(key)
      ? await this.presignPlainKey(key, headers, options.expiresInSeconds, signedAt)
      : await this.presignRequest(new PutObjectCommand({ Bucket: this.bucket, Key: key }), headers, options.expiresInSeconds, signedAt);
    return { method: 'PUT', url, headers, expiresAt: new Date(signedAt.getTime() + options.expiresInSeconds * 1000) };
  }

  /**
   * The same presigned PUT as presignRequest, for a key that needs no URI encoding, without
   * running the SDK's middleware stack per URL (~5 ms each; a first begin of a large capture
   * signs tens of thousands). One PUT is resolved through the SDK once to learn the endpoint,
   * the bucket's place in the path and the query the SDK adds; each URL is then signed by one
   * reused SignatureV4, whose credentials provider the SDK refreshes (Lambda role keys rotate).
   */
  private async presignPlainKey(key: string, headers: Record<string, string>, expiresIn: number, signingDate: Date): Promise<string> {
    this.putTemplate ??= this.resolvePutTemplate().catch((err) => {
      this.putTemplate = undefined;
      throw err;
    });
    const t = await this.putTemplate;
    const request = {
      method: 'PUT',
      protocol: t.protocol,
      hostname: t.hostname,
      port: t.port,
      path: `${t.pathPrefix}${key}`,
      query: { ...t.query },
      headers: { host: t.host, ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    };
    const presigned = await t.signer.presign(request as any, { expiresIn, signingDate, unhoistableHeaders: new Set(Object.keys(headers)) });
    return formatUrl(presigned as any);
  }

  private putTemplate?: Promise<PutTemplate>;

  private async resolvePutTemplate(): Promise<PutTemplate> {
    const probe = 'probe';
    let seen: PutTemplate | undefined;
    await this.presignRequest(new PutObjectCommand({ Bucket: this.bucket, Key: probe }), {}, 60, this.now(), (request, signer) => {
      const path: string = request.path;
      if (!path.endsWith(`/${probe}`)) throw new Error(`unexpected presign path ${path}`);
      seen = {
        protocol: request.protocol,
        hostname: request.hostname,
        port: request.port,
        host: request.headers.host,
        pathPrefix: path.slice(0, path.length - probe.length),
        query: { ...(request.query ?? {}) },
        signer,
      };
    });
    return seen!;
  }

  /** A presigned GET, with Content-Disposition naming the file when given. */
  async presignGet(key: string, options: { expiresInSeconds: number; fileName?: string }): Promise<PresignedRequest> {
    const signedAt = this.now();
    const url = await getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(options.fileName ? { ResponseContentDisposition: attachmentDisposition(options.fileName) } : {}),
      }),
      { expiresIn: options.expiresInSeconds, signingDate: signedAt },
    );
    return { method: 'GET', url, headers: {}, expiresAt: new Date(signedAt.getTime() + options.expiresInSeconds * 1000) };
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /** Creates the bucket when it does not exist (tests and development). */
  async createBucketIfMissing(): Promise<void> {
    try {
      await this.check();
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    }
  }

  /**
   * Signs `command` as the SDK would send it (same endpoint, path style, region and
   * credentials: the SDK resolves them and we intercept just before its own signer),
   * but with our signed headers and the URL in the query string.
   */
  private async presignRequest(
    command: PutObjectCommand,
    headers: Record<string, string>,
    expiresIn: number,
    signingDate: Date,
    onRequest?: (request: any, signer: SignatureV4) => void,
  ): Promise<string> {
    const config = this.client.config;
    const stack = this.client.middlewareStack.clone();
    stack.addRelativeTo(
      (_next: unknown, context: Record<string, any>) => async (args: { request: any }) => {
        const request = args.request;
        const scheme = context.selectedHttpAuthScheme;
        const signer = new SignatureV4({
          service: scheme?.signingProperties?.signingName ?? context.signing_service ?? 's3',
          region: scheme?.signingProperties?.signingRegion ?? context.signing_region ?? (await config.region()),
          // A provider, not a snapshot, when the signer is kept for later URLs (presignPlainKey).
          credentials: onRequest && typeof config.credentials === 'function' ? config.credentials : (scheme?.identity ?? (await config.credentials())),
          sha256: config.sha256,
          // S3 signs the path as sent, not double-encoded.
          uriEscapePath: false,
          applyChecksum: false,
        });
        const host = request.headers.host ?? `${request.hostname}${request.port ? `:${request.port}` : ''}`;
        // Only what we mean to bind: the SDK's own headers (user agent, invocation id) would
        // otherwise be signed and the client would have to repeat them.
        request.headers = { host, ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
        onRequest?.({ ...request, query: { ...(request.query ?? {}) } }, signer);
        const presigned = await signer.presign(request, {
          expiresIn,
          signingDate,
          // Signed as headers (the client sends them), not hoisted into the query.
          unhoistableHeaders: new Set(Object.keys(headers)),
        });
        return { output: { $metadata: {}, presigned }, response: {} };
      },
      { name: 'catalogPresignPut', relation: 'before', toMiddleware: 'awsAuthMiddleware', override: true },
    );
    const handler = command.resolveMiddleware(stack as any, config, {});
    const { output } = (await handler({ input: command.input })) as unknown as { output: { presigned: any } };
    return formatUrl(output.presigned);
  }
}

/** Staged uploads closeStaging removes before it returns; more go in the background. */
export const CLEANUP_INLINE_KEYS = 16;

/** Part size of putStream's multipart uploads (S3's minimum is 5 MiB). */
export const PUT_STREAM_PART_BYTES = 8 * 1024 * 1024;

/** Keys presignPlainKey signs directly: these characters are the same URI-encoded or not. */
const PLAIN_KEY = /^[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

interface PutTemplate {
  protocol: string;
  hostname: string;
  port?: number;
  host: string;
  /** The path up to the key: `/<bucket>/` (path style) or `/` (virtual-hosted). */
  pathPrefix: string;
  query: Record<string, string | string[] | null>;
  signer: SignatureV4;
}

function formatUrl(request: { protocol: string; hostname: string; port?: number; path: string; query?: Record<string, string | string[] | null> }): string {
  const url = new URL(`${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}`);
  // The path is already URI-encoded by the SDK serializer; keep it byte for byte.
  const query = Object.entries(request.query ?? {})
    .flatMap(([k, v]) => (v === null ? [encodeURIComponent(k)] : (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`)))
    .join('&');
  return `${url.origin}${request.path}${query ? `?${query}` : ''}`;
}

/**
 * Adds a Content-MD5 of the serialized body to a request. Multi-Object Delete must carry a
 * checksum; the SDK sends a CRC32 (x-amz-checksum-crc32), which Swift's s3api does not
 * know (400 "Missing required header: Content-MD5"); every S3 server takes Content-MD5.
 */
function withContentMd5<C extends { middlewareStack: { add: (...a: any[]) => void } }>(command: C): C {
  command.middlewareStack.add(
    (next: (args: any) => Promise<any>) => async (args: { request: { body?: unknown; headers: Record<string, string> } }) => {
      const body = args.request.body;
      if (typeof body === 'string' || body instanceof Uint8Array) args.request.headers['content-md5'] = contentMd5(body);
      return next(args);
    },
    { step: 'build', name: 'catalogContentMd5', priority: 'low' },
  );
  return command;
}

/** Base64 MD5 of a body: what presignPut needs as `contentMd5`. */
export function contentMd5(body: Uint8Array | string): string {
  return createHash('md5').update(body).digest('base64');
}
