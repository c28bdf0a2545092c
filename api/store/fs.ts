/**
 * The embedded blob store: one file per object under $DATA_DIR/blobs, written
 * atomically, with uploads and downloads through the API's own signed URLs
 * (`/v1/blobs/<key>?exp=…&len=…&sha256=…&sig=…`, see api/routes/blobs.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  type Dirent,
  fstatSync,
  fsync,
  linkSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  write,
  writev,
  writeSync,
} from 'node:fs';
import { link, mkdir, open, readdir, readFile, rm, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { ApiError } from '../errors.js';
import {
  BlobNotFoundError,
  captureOfStagingKey,
  stagingPrefix,
  type BlobStore,
  type ObjectInfo,
  type PresignedGrant,
  type PresignedRequest,
  type PresignPutOptions,
} from './types.js';

export interface FsBlobStoreOptions {
  /** Objects live in `<dataDir>/blobs`; the URL secret in `<dataDir>/store-secret`. */
  dataDir: string;
  /** Where clients reach this API; signed URLs start with it. */
  publicBaseUrl: string;
  /** HMAC key for signed URLs; by default read from (or created in) `<dataDir>/store-secret`. */
  secret?: Uint8Array;
  /** The clock that signs and checks expiry; tests pass a fake one. */
  now?: () => Date;
}

const SECRET_FILE = 'store-secret';
const SECRET_BYTES = 32;
const HEX64 = /^[0-9a-f]{64}$/;
// Segments are what keys are made of (hex hashes, URI-encoded host names, UUIDs,
// file names); a leading dot is reserved for temp files, so `..` cannot sneak in.
const KEY_SEGMENT = /^[A-Za-z0-9_~%+=@,:-][A-Za-z0-9._~%+=@,:-]*$/;
const MAX_KEY_LENGTH = 1024;
const WRITE_BATCH = 256 * 1024;
/**
 * Temp file names: this process's random prefix and a count, unique without asking the CSPRNG
 * for bytes on every write (the create's 'wx' refuses a name taken anyway).
 */
const TEMP_PREFIX = `.tmp-${randomBytes(6).toString('hex')}-`;
let tempCount = 0;

/** True when a key can name a file under the store root (no traversal, no temp-file names). */
export function isValidBlobKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split('/').every((segment) => KEY_SEGMENT.test(segment));
}

function assertKey(key: string): void {
  if (!isValidBlobKey(key)) throw new ApiError('bad_request', `invalid object key: ${JSON.stringify(key.slice(0, 100))}`);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

const fsyncFd = promisify(fsync);

/** The writes of a body held whole in memory, for writeAtomically: synchronous, to the page cache. */
function writeAll(bytes: Uint8Array): (fd: number) => void {
  return (fd) => {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  };
}

/** Closes a descriptor on a path that is already failing: the first error is the one to report. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // the error being thrown is the one that matters
  }
}

function ignoreMissing(err: unknown): void {
  if (!isMissing(err)) throw err;
}

/** A directory's entries; none when it does not exist (yet). */
/**
 * A directory's entries; none when it does not exist. Listing (`strict`), a file where the
 * directory should be (ENOTDIR: a failed mount leaves such things) is an error, not an empty
 * listing, which would tell the maintenance pass that every chunk is lost.
 */
async function entriesOf(dir: string, strict = false) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (strict && code === 'ENOTDIR') throw new Error(`cannot list ${dir}: it is a file, not a directory (a failed mount?)`);
    if (isMissing(err)) return [];
    throw err;
  }
}

/** The URL path of a key: each segment percent-encoded, so `%` in a key survives the round trip. */
export function blobUrlPath(key: string): string {
  return `/v1/blobs/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The key named by a raw request path under /v1/blobs/, or null when it is not a valid key. */
export function blobKeyFromUrlPath(pathname: string): string | null {
  const prefix = '/v1/blobs/';
  if (!pathname.startsWith(prefix)) return null;
  try {
    const key = pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
    return isValidBlobKey(key) ? key : null;
  } catch {
    return null;
  }
}

/** Filesystem BlobStore whose signed URLs point at the API itself. */
/** Where the filesystem store keeps its objects under DATA_DIR. */
export function fsStoreRoot(dataDir: string): string {
  return join(dataDir, 'blobs');
}

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  /** `<dataDir>/blobs`. */
  readonly root: string;
  private readonly dataDir: string;
  private readonly publicBaseUrl: string;
  private readonly now: () => Date;
  private secret: Promise<Buffer> | undefined;

  constructor(options: FsBlobStoreOptions) {
    this.dataDir = options.dataDir;
    this.root = fsStoreRoot(options.dataDir);
    this.publicBaseUrl = options.publicBaseUrl.replace(/\/+$/, '');
    this.now = options.now ?? (() => new Date());
    if (options.secret) this.secret = Promise.resolve(Buffer.from(options.secret));
  }

  private path(key: string): string {
    assertKey(key);
    return join(this.root, ...key.split('/'));
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await stat(this.path(key));
      return st.isFile() ? { key, size: st.size } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** Streams an object or a range of it (inclusive end, clamped to the size); RangeError when it starts past the end. */
  async getStream(key: string, range?: { start: number; end: number }): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key);
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new BlobNotFoundError(key);
      if (!range) return createReadStream('', { fd: handle, autoClose: true });
      checkRange(range, st.size);
      return createReadStream('', { fd: handle, autoClose: true, start: range.start, end: Math.min(range.end, st.size - 1) });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Writes an object atomically (temp file + fsync + rename + fsync of the directory). */
  async put(key: string, body: Uint8Array | Readable, contentLength?: number): Promise<void> {
    const target = this.path(key);
    if (body instanceof Uint8Array) {
      if (contentLength !== undefined && body.length !== contentLength) throw new Error(`body of ${key} has ${body.length} bytes, ${contentLength} announced`);
      await this.writeAtomically(target, writeAll(body));
      return;
    }
    await this.writeAtomically(
      target,
      FsBlobStore.streamed(
        body as AsyncIterable<Uint8Array>,
        (written) => {
          if (contentLength !== undefined && written > contentLength) throw new Error(`body of ${key} is longer than ${contentLength} bytes`);
        },
        (written) => {
          if (contentLength !== undefined && written !== contentLength) throw new Error(`body of ${key} has ${written} bytes, ${contentLength} announced`);
        },
      ),
    );
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>): Promise<number> {
    let size = 0;
    await this.writeAtomically(
      this.path(key),
      FsBlobStore.streamed(
        body,
        (written) => {
          size = written;
        },
        () => {},
      ),
    );
    return size;
  }

  /**
   * Stores an upload only when it is exactly `length` bytes with SHA-256 `sha256`: it is
   * hashed while it streams into a temp file and renamed into place only after the check.
   * Over-long bodies stop at the first byte past `length` (413); short ones (400) and
   * another hash (400) leave nothing behind. A staging key is accepted only while its
   * capture's staging area exists (from begin until commit or sweep): an upload URL of a
   * committed capture is refused (409) instead of leaving bytes no one will read.
   */
  async writeVerified(key: string, body: AsyncIterable<Uint8Array>, expected: { length: number; sha256: string }): Promise<void> {
    const target = this.path(key);
    const captureId = captureOfStagingKey(key);
    const hash = createHash('sha256');
    await this.writeAtomically(
      target,
      FsBlobStore.streamed(
        body,
        (written, chunk) => {
          if (written > expected.length) throw new ApiError('payload_too_large', `the body is longer than the ${expected.length} bytes the upload URL allows`);
          hash.update(chunk);
        },
        (written) => {
          if (written !== expected.length) throw new ApiError('bad_request', `the body has ${written} bytes, the upload URL expects ${expected.length}`);
          const actual = hash.digest('hex');
          if (actual !== expected.sha256)
            throw new ApiError(
              'bad_request',
              `the payload hash differs from the one the upload URL was signed for (got sha256 ${actual}, expected ${expected.sha256})`,
            );
        },
      ),
    ).catch((err) => {
      // No staging area to write into (asked before the body is read: the temp file is created
      // in it first), or the commit removed it while this body was arriving. No stat of the
      // directory beforehand: the temp file's create answers the same question.
      if (captureId !== null && isMissing(err))
        throw new ApiError('conflict', `capture ${captureId} takes no more uploads (it was committed, or abandoned and swept); begin it again`);
      throw err;
    });
  }

  /**
   * Write-once create: a temp file hard-linked to the key, which fails when the key exists.
   * `staged`: the staging key the bytes were read from; when its file still holds exactly them,
   * that file is what gets linked (linkStaged).
   */
  async putIfAbsent(key: string, body: Uint8Array, options: { seenAbsent?: boolean; staged?: string } = {}): Promise<'created' | 'exists'> {
    const target = this.path(key);
    if (options.staged !== undefined) {
      const linked = await this.linkStaged(options.staged, target, body);
      if (linked) return linked;
    }
    let outcome: 'created' | 'exists' = 'created';
    await this.writeAtomically(target, writeAll(body), (temp) => {
      try {
        linkSync(temp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        outcome = 'exists';
      }
      unlinkSync(temp);
      // The key's existing object was made durable by its own writer: nothing to sync.
      return outcome === 'created';
    });
    return outcome;
  }

  /**
   * Publishes a staged upload by linking its file to `target`, once its bytes are on disk: no
   * second copy of them and no temp file (creating a file costs more than a small commit's
   * other filesystem calls together, and the staged file's inode no longer goes free when the
   * staging area is removed). Only when the staged file holds exactly `body`, the bytes the
   * caller verified; null when it does not or is gone (the caller then writes `body`). An upload to the same staging key renames its own file over the
   * name, so the file linked may not be the one read: then `body` is written over it.
   */
  private async linkStaged(staged: string, target: string, body: Uint8Array): Promise<'created' | 'exists' | null> {
    assertKey(staged);
    if (captureOfStagingKey(staged) === null) return null;
    const source = this.path(staged);
    let fd: number;
    try {
      fd = openSync(source, 'r');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    let checked: { dev: number; ino: number };
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size !== body.length) return null;
      const onDisk = Buffer.allocUnsafe(body.length);
      for (let at = 0; at < onDisk.length; ) {
        const n = readSync(fd, onDisk, at, onDisk.length - at, at);
        if (n === 0) return null;
        at += n;
      }
      if (!onDisk.equals(body)) return null;
      // Staged uploads are written without fsync (writeAtomically): the key's object must be durable.
      await fsyncFd(fd);
      checked = { dev: st.dev, ino: st.ino };
    } finally {
      closeSync(fd);
    }
    // The key's directory is made when the link finds it missing, as writeAtomically makes it.
    for (let tries = 0; ; tries++) {
      try {
        linkSync(source, target);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return 'exists';
        if (code !== 'ENOENT') throw err;
        if (tries > 0) return null;
        await mkdir(dirname(target), { recursive: true });
      }
    }
    const linked = statSync(target);
    // Another file took the staged name between the read and the link: the verified bytes go over it.
    if (linked.dev !== checked.dev || linked.ino !== checked.ino) await this.writeAtomically(target, writeAll(body));
    else await syncDirectory(dirname(target));
    return 'created';
  }

  async openStaging(captureId: string): Promise<void> {
    await mkdir(this.path(stagingPrefix(captureId).slice(0, -1)), { recursive: true });
  }

  /**
   * Removes a capture's staging area. It holds files only (uploads, and the temp files of
   * uploads under way): each is unlinked and the directory removed — half the calls of rm's
   * recursive walk, which stats every entry and tries the directory first. An entry that is
   * no file, or one that appears meanwhile (an upload starting), leaves the rest to rm.
   */
  /** Nothing runs in the background: closeStaging has removed the area when it returns. */
  async settled(): Promise<void> {}

  async closeStaging(captureId: string): Promise<void> {
    const dir = this.path(stagingPrefix(captureId).slice(0, -1));
    // Listed on this thread, as its names are unlinked: a small capture's area holds a name or
    // two, read in microseconds, where the thread pool's round trip costs a few hundred.
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    if (entries.every((e) => e.isFile())) {
      // Synchronous unlinks, as in writeAtomically: names only, no data to wait for.
      for (const e of entries) {
        try {
          unlinkSync(join(dir, e.name));
        } catch (err) {
          ignoreMissing(err);
        }
      }
      try {
        // On the thread pool: removing a directory waits for the filesystem's journal (0.2–2 ms
        // here, where an unlink takes 25 µs), and the event loop would wait with it.
        await rmdir(dir);
        return;
      } catch (err) {
        if (isMissing(err)) return;
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
    }
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * Writes `target` atomically: a temp file beside it, its bytes written by `write`, fsync,
   * then `place` gives it its name (a rename, unless told otherwise; false when it took none),
   * then the directory's fsync. The create, close, rename and unlink are synchronous calls: on
   * the page cache each takes microseconds, about what handing it to the thread pool costs —
   * a commit made some twenty such round trips. The fsyncs, which wait for the disk, stay on
   * the thread pool.
   */
  private async writeAtomically(
    target: string,
    write: (fd: number) => void | Promise<void>,
    place: (temp: string) => boolean = (temp) => {
      renameSync(temp, target);
      return true;
    },
  ): Promise<void> {
    const dir = dirname(target);
    const staged = captureOfStagingKey(relativeKey(this.root, target)) !== null;
    // Same directory as the target, so the rename cannot cross a filesystem; the
    // leading dot keeps it out of listings and out of the key space.
    const temp = join(dir, `${TEMP_PREFIX}${(tempCount++).toString(36)}`);
    let fd: number;
    try {
      fd = openSync(temp, 'wx', 0o644);
    } catch (err) {
      // The directory is made when the create finds it missing, not asked for before every
      // write (chunks/<xx> and manifests/<host> exist after their first object). A staging
      // directory is made by openStaging only: writing must not recreate one a commit removed.
      if (staged || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true });
      fd = openSync(temp, 'wx', 0o644);
    }
    let held = true;
    let committed = false;
    let placed = false;
    try {
      await write(fd);
      // Data must be durable before the name points at it, or a crash could leave
      // a complete-looking name over missing bytes. Not so for a staged upload: nothing
      // refers to it until a commit has read it back and checked its length and hash, and
      // that commit writes the chunk's own key durably. What a power cut does to a staged
      // file (gone, empty, other bytes) is a chunk the commit finds missing or wrong (422,
      // the bad one deleted): the collector begins again and uploads it again. Two fsyncs
      // fewer per uploaded chunk.
      if (!staged) await fsyncFd(fd);
      held = false;
      closeSync(fd);
      placed = place(temp);
      committed = true;
    } finally {
      if (!committed) {
        if (held) closeQuietly(fd);
        try {
          unlinkSync(temp);
        } catch {
          // already gone
        }
      }
    }
    if (!staged && placed) await syncDirectory(dir);
  }

  /** A streamed body's writes for writeAtomically, with `onChunk` after each piece and `beforeCommit` at its end. */
  private static streamed(
    body: AsyncIterable<Uint8Array>,
    onChunk: (written: number, chunk: Uint8Array) => void,
    beforeCommit: (written: number) => void,
  ): (fd: number) => Promise<void> {
    return async (fd) => {
      let written = 0;
      // Sockets deliver 16–64 KiB pieces; one writev per WRITE_BATCH bytes instead of a
      // thread-pool round trip per piece.
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes > 0) await writeFully(fd, pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      };
      for await (const chunk of body) {
        written += chunk.byteLength;
        onChunk(written, chunk);
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_BATCH) await flush();
      }
      await flush();
      beforeCommit(written);
    };
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
  }

  /** Every object under a prefix in key order (byte order, as S3 lists). */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const cut = prefix.lastIndexOf('/');
    const baseKey = cut >= 0 ? prefix.slice(0, cut + 1) : '';
    if (baseKey && !isValidBlobKey(baseKey.slice(0, -1))) return;
    yield* this.walk(join(this.root, ...baseKey.split('/').filter(Boolean)), baseKey, prefix);
  }

  private async *walk(dir: string, keyPrefix: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const entries = await entriesOf(dir, true);
    // A directory stands for the keys under `name/`: sorting it as `name/` puts
    // `a-b` (0x2d) before `a/…` (0x2f), the order S3 would list them in.
    const named = entries
      .filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isDirectory()))
      .map((e) => ({ entry: e, sortKey: keyPrefix + e.name + (e.isDirectory() ? '/' : '') }))
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const { entry, sortKey } of named) {
      if (entry.isDirectory()) {
        if (sortKey.startsWith(prefix) || prefix.startsWith(sortKey)) yield* this.walk(join(dir, entry.name), sortKey, prefix);
      } else if (sortKey.startsWith(prefix)) {
        try {
          const st = await stat(join(dir, entry.name));
          yield { key: sortKey, size: st.size };
        } catch (err) {
          if (!isMissing(err)) throw err; // deleted while listing
        }
      }
    }
  }

  /** A signed URL of this API that accepts exactly one body (length + SHA-256) for `key` until it expires. */
  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedRequest> {
    assertKey(key);
    if (!Number.isSafeInteger(options.contentLength) || options.contentLength < 0) throw new RangeError('contentLength must be a non-negative integer');
    const sha256 = options.payloadSha256.toLowerCase();
    if (!HEX64.test(sha256)) throw new RangeError('payloadSha256 must be 64 hex digits');
    const exp = this.expiry(options.expiresInSeconds);
    const sig = await this.sign(['PUT', key, String(exp), String(options.contentLength), sha256, '']);
    const query = new URLSearchParams({ exp: String(exp), len: String(options.contentLength), sha256, sig });
    return {
      method: 'PUT',
      url: `${this.publicBaseUrl}${blobUrlPath(key)}?${query}`,
      headers: { 'content-length': String(options.contentLength) },
      expiresAt: new Date(exp * 1000),
    };
  }

  /** A signed download URL of this API, optionally naming the file for Content-Disposition. */
  async presignGet(key: string, options: { expiresInSeconds: number; fileName?: string }): Promise<PresignedRequest> {
    assertKey(key);
    const exp = this.expiry(options.expiresInSeconds);
    const name = options.fileName ?? '';
    const sig = await this.sign(['GET', key, String(exp), '', '', name]);
    const query = new URLSearchParams({ exp: String(exp), ...(name ? { name } : {}), sig });
    return { method: 'GET', url: `${this.publicBaseUrl}${blobUrlPath(key)}?${query}`, headers: {}, expiresAt: new Date(exp * 1000) };
  }

  /**
   * Checks a signed URL's query for `method` on `key`; throws ApiError forbidden when the
   * signature does not cover exactly these values (tampered, another key) or it expired.
   */
  async verifyPresigned(method: 'PUT' | 'GET', key: string, query: Record<string, string | undefined>): Promise<PresignedGrant> {
    const { exp, len, sha256, sig, name } = query;
    if (!exp || !/^\d{1,12}$/.test(exp) || !sig || !/^[0-9a-f]{64}$/.test(sig)) throw new ApiError('forbidden', 'the URL is not signed');
    if (method === 'PUT' && (!len || !/^\d{1,15}$/.test(len) || !sha256 || !HEX64.test(sha256)))
      throw new ApiError('forbidden', 'the upload URL is not signed for a length and hash');
    const fields = method === 'PUT' ? [method, key, exp, len!, sha256!, ''] : [method, key, exp, '', '', name ?? ''];
    const expected = Buffer.from(await this.sign(fields), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) throw new ApiError('forbidden', 'the URL signature does not match this request');
    const expiresAt = new Date(Number(exp) * 1000);
    if (this.now().getTime() > expiresAt.getTime()) throw new ApiError('forbidden', `the URL expired at ${expiresAt.toISOString()}`);
    return method === 'PUT'
      ? { method, key, expiresAt, contentLength: Number(len), payloadSha256: sha256 }
      : { method, key, expiresAt, ...(name ? { fileName: name } : {}) };
  }

  /**
   * Deletes temp files left by writers that died mid-put (kill -9, power loss) once they
   * are older than `olderThanMs`, so no live upload loses its file. Returns how many.
   */
  async removeStaleTemp(olderThanMs = 3600_000): Promise<number> {
    const cutoff = this.now().getTime() - olderThanMs;
    let removed = 0;
    const sweep = async (dir: string): Promise<void> => {
      const entries = await entriesOf(dir);
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) await sweep(path);
        else if (e.name.startsWith('.tmp-')) {
          const st = await stat(path).catch(() => null);
          if (
            st &&
            st.mtimeMs <= cutoff &&
            (await unlink(path).then(
              () => true,
              () => false,
            ))
          )
            removed++;
        }
      }
    };
    await sweep(this.root);
    return removed;
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await this.secretKey();
  }

  private expiry(expiresInSeconds: number): number {
    if (!Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) throw new RangeError('expiresInSeconds must be positive');
    return Math.floor(this.now().getTime() / 1000) + Math.ceil(expiresInSeconds);
  }

  // Fields joined by newlines: keys and file names cannot hold one unescaped
  // (keys are validated, names are URI-encoded), so no two field lists sign alike.
  private async sign(fields: string[]): Promise<string> {
    const canonical = fields.map((f, i) => (i === 5 ? encodeURIComponent(f) : f)).join('\n');
    return createHmac('sha256', await this.secretKey())
      .update(canonical)
      .digest('hex');
  }

  private secretKey(): Promise<Buffer> {
    this.secret ??= loadOrCreateSecret(join(this.dataDir, SECRET_FILE)).catch((err) => {
      this.secret = undefined;
      throw err;
    });
    return this.secret;
  }
}

/** The key a path under `root` stands for. */
function relativeKey(root: string, path: string): string {
  return path
    .slice(root.length + 1)
    .split(/[\\/]/)
    .join('/');
}

/** RangeError unless `range` is a satisfiable inclusive byte range of an object of `size` bytes. */
export function checkRange(range: { start: number; end: number }, size: number): void {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
    throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
  }
  if (range.start >= size) throw new RangeError(`byte range ${range.start}-${range.end} starts past the end (${size} bytes)`);
}

/**
 * Reads the URL secret, creating it (0600, random) on first use. Created under a temp
 * name and hard-linked into place, so two processes starting together agree on one
 * secret and neither ever reads a half-written file.
 */
async function loadOrCreateSecret(path: string): Promise<Buffer> {
  try {
    return await readSecret(path);
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, randomBytes(SECRET_BYTES), { mode: 0o600, flag: 'wx' });
  try {
    const handle = await open(temp, 'r');
    await handle.sync();
    await handle.close();
    await link(temp, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await unlink(temp).catch(() => {});
  }
  await syncDirectory(dirname(path));
  return readSecret(path);
}

async function readSecret(path: string): Promise<Buffer> {
  const secret = await readFile(path);
  if (secret.length < 16) throw new Error(`${path} holds ${secret.length} bytes; a URL secret needs at least 16`);
  return secret;
}

const writevFd = promisify(writev);
const writeFd = promisify(write);

async function writeFully(fd: number, buffers: Uint8Array[], total: number): Promise<void> {
  let { bytesWritten } = await writevFd(fd, buffers);
  if (bytesWritten === total) return;
  // Short writes are rare (full disk, signals); finish piece by piece.
  const rest = Buffer.concat(buffers).subarray(bytesWritten);
  let offset = 0;
  while (offset < rest.length) {
    ({ bytesWritten } = await writeFd(fd, rest, offset, rest.length - offset));
    offset += bytesWritten;
  }
}

/** fsyncs a directory (a name made or changed in it becomes durable); open and close are synchronous calls, as in writeAtomically. */
async function syncDirectory(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}
