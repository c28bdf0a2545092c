/**
 * The restore bundle as a streamed `.tar.gz`: generated files first, then each artifact
 * chunk by chunk. The `.tar.gz` is a series of gzip members (RFC 1952, 2.2: a gzip file is
 * members one after another, and readers — gzip, tar, Python, Go, Node — join what they
 * hold). A gzip-stored chunk, checked against its SHA-256, travels as the member it is
 * stored as, neither inflated for the archive nor compressed again; everything else (tar
 * headers, generated files, padding, identity chunks) is compressed here, a batch at a time.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip, constants as zlibConstants } from 'node:zlib';
import { Header, Pax } from 'tar';
import type { BlobStore } from '../store/types.js';
import { checkedChunks } from '../read/content.js';
import { safeName } from './files.js';
import type { BundleSelection } from './select.js';
import { generatedFiles } from './render.js';

const gzipAsync = promisify(gzip);

/** One tar header block (plus a pax header when the path does not fit ustar). */
function tarHeader(path: string, size: number, mtime: Date, mode: number): Uint8Array[] {
  const data = { path, size, mtime, mode, type: 'File' as const, uid: 0, gid: 0, uname: 'root', gname: 'root' };
  const header = new Header(data);
  const blocks: Uint8Array[] = [];
  if (header.encode()) blocks.push(new Pax(data).encode());
  blocks.push(header.block!);
  return blocks;
}

function padding(size: number): Uint8Array | null {
  const rem = size % 512;
  return rem === 0 ? null : new Uint8Array(512 - rem);
}

/** A piece of the archive: tar bytes to compress, or a stored gzip member to pass on as it is. */
type TarPiece = Uint8Array | { gzipMember: Buffer };

/** The bundle's tar, piece by piece; artifact chunks come from the store, checked, a few ahead. */
async function* tarPieces(store: BlobStore, sel: BundleSelection): AsyncGenerator<TarPiece> {
  const generatedAt = new Date(sel.generatedAt);
  for (const f of generatedFiles(sel)) {
    yield* tarHeader(`${sel.root}/${f.path}`, f.bytes.length, generatedAt, f.mode);
    yield f.bytes;
    const pad = padding(f.bytes.length);
    if (pad) yield pad;
  }
  for (const f of sel.files) {
    yield* tarHeader(`${sel.root}/${f.path}`, f.size, new Date(f.collectedAt), 0o644);
    let sent = 0;
    for await (const checked of checkedChunks(store, f.chunks, sel.checked)) {
      if (checked.gzipMember) {
        sent += checked.size;
        yield { gzipMember: checked.gzipMember };
      } else {
        sent += checked.bytes.length;
        yield checked.bytes;
      }
    }
    // A short artifact would shift every later entry: refuse rather than emit a corrupt tar.
    if (sent !== f.size) throw new Error(`artifact ${f.artifactId}: store gave ${sent} bytes, expected ${f.size}`);
    const pad = padding(f.size);
    if (pad) yield pad;
  }
  yield new Uint8Array(1024); // two zero blocks end the archive
}

/** Tar bytes gathered before they are compressed as one member: fewer, larger members compress better. */
const BATCH_BYTES = 1024 * 1024;

/**
 * The bundle as a `.tar.gz` byte stream. Level 1 for what is compressed here: header dumps
 * are mostly zeros, which any level squeezes.
 */
export async function* bundleTarGz(store: BlobStore, sel: BundleSelection): AsyncGenerator<Uint8Array> {
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async (): Promise<Buffer | null> => {
    if (batched === 0) return null;
    const member = await gzipAsync(Buffer.concat(batch, batched), { level: zlibConstants.Z_BEST_SPEED });
    batch = [];
    batched = 0;
    return member;
  };
  for await (const piece of tarPieces(store, sel)) {
    if (piece instanceof Uint8Array) {
      batch.push(piece);
      batched += piece.length;
      if (batched >= BATCH_BYTES) yield (await flush())!;
      continue;
    }
    const before = await flush();
    if (before) yield before;
    yield piece.gzipMember;
  }
  const last = await flush();
  if (last) yield last;
}

/** The bundle's download name. */
export function bundleFileName(sel: BundleSelection): string {
  return `${sel.root}.tar.gz`;
}

/**
 * Store key of an assembled bundle: the same selection (same files, same `at` when
 * one was asked for) maps to the same object, so repeated redirects reuse it.
 */
export function bundleObjectKey(sel: BundleSelection, explicitAt: boolean): string {
  const signature = createHash('sha256')
    .update(JSON.stringify({ v: sel.vmfsUuid, d: sel.deviceId, at: explicitAt ? sel.at : null, files: sel.files.map((f) => [f.path, f.sha256]) }))
    .digest('hex');
  return `bundles/${safeName(sel.vmfsUuid ?? sel.deviceId ?? 'bundle')}/${signature}.tar.gz`;
}
