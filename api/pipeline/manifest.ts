/**
 * A committed capture's manifest as it rests in the store (formats/protocol.ts
 * `CaptureManifestV1`, `CaptureManifestV2`). Commit writes format 2: gzip-compressed JSON with
 * the capture's distinct chunks listed once and each artifact's chunk list as indexes into
 * them — on a daily run most of a manifest was the same chunk written out again (a LUN head's
 * zero chunk fifteen times), and it is the one object an unchanged day sends to the store.
 * Readers take both formats, told apart by the bytes (gzip magic), not the key.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CaptureManifest, CaptureManifestV1, CaptureManifestV2, ManifestChunk } from '../../formats/protocol.js';
import { gunzipBounded } from './chunks.js';

const gzipAsync = promisify(gzip);

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
  const out = await gzipAsync(JSON.stringify(compactManifest(m)), { level: 9 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function isHeader(x: Partial<CaptureManifest> | null): boolean {
  return !!x && typeof x.captureId === 'string' && !!x.host && typeof x.collectedAt === 'string' && Array.isArray(x.artifacts);
}

/** Format 2's chunk lists written out again; an index outside the chunk table makes it unreadable. */
function expand(m: CaptureManifestV2): CaptureManifest {
  if (!Array.isArray(m.chunks)) throw new Error('manifest format 2 without its chunk table');
  const { captureId, host, collectedAt, receivedAt, committedAt, collector } = m;
  const artifacts = m.artifacts.map((a, n) => {
    if (!Array.isArray(a.chunks)) throw new Error(`manifest artifact ${n} has no chunk list`);
    return {
      ...a,
      chunks: a.chunks.map((i) => {
        const c = Number.isInteger(i) ? m.chunks[i] : undefined;
        if (!c) throw new Error(`manifest artifact ${n} names chunk ${JSON.stringify(i)}, not in its table of ${m.chunks.length}`);
        return c;
      }),
    };
  });
  return { captureId, host, collectedAt, receivedAt, committedAt, collector, artifacts };
}

/**
 * A manifest's bytes read back, whichever format: format 1 (plain JSON) or format 2 (gzip).
 * Throws on anything else, naming what it found.
 */
export async function decodeManifest(bytes: Uint8Array): Promise<CaptureManifest> {
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = new TextDecoder().decode(gzipped ? await gunzipBounded(bytes, MANIFEST_MAX_BYTES, 64 * 1024) : bytes);
  const x = JSON.parse(text) as (CaptureManifestV1 | CaptureManifestV2 | { format?: unknown }) | null;
  const format = x && typeof x === 'object' ? x.format : undefined;
  if (format === 'vmfs-catalog-manifest/1' && isHeader(x as CaptureManifestV1)) {
    const { format: _, ...manifest } = x as CaptureManifestV1;
    return manifest;
  }
  if (format === 'vmfs-catalog-manifest/2' && isHeader(x as CaptureManifest)) return expand(x as CaptureManifestV2);
  throw new Error(`not a vmfs-catalog-manifest/1 or /2 object (format ${JSON.stringify(format ?? null)})`);
}
