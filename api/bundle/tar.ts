/** The restore bundle as a streamed `.tar.gz`: generated files first, then each artifact chunk by chunk. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGzip, constants as zlibConstants } from 'node:zlib';
import { Header, Pax } from 'tar';
import type { BlobStore } from '../store/types.js';
import { artifactBytes } from '../read/content.js';
import { safeName } from './files.js';
import type { BundleSelection } from './select.js';
import { generatedFiles } from './render.js';

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

/** The bundle as an uncompressed tar stream; artifact bytes come chunk by chunk from the store. */
export async function* bundleTar(store: BlobStore, sel: BundleSelection): AsyncGenerator<Uint8Array> {
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
    for await (const part of artifactBytes(store, f.chunks)) {
      sent += part.length;
      yield part;
    }
    // A short artifact would shift every later entry: refuse rather than emit a corrupt tar.
    if (sent !== f.size) throw new Error(`artifact ${f.artifactId}: store gave ${sent} bytes, expected ${f.size}`);
    const pad = padding(f.size);
    if (pad) yield pad;
  }
  yield new Uint8Array(1024); // two zero blocks end the archive
}

/** The bundle as a `.tar.gz` byte stream. Level 1: header dumps are mostly zeros, which any level squeezes. */
export function bundleTarGz(store: BlobStore, sel: BundleSelection): Readable {
  const gzip = createGzip({ level: zlibConstants.Z_BEST_SPEED });
  return pipeline(Readable.from(bundleTar(store, sel), { objectMode: false }), gzip, () => {}) as unknown as Readable;
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
