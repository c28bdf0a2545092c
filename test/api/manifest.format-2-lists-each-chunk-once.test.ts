/**
 * A capture's manifest as commit stores it (format 2): gzip-compressed JSON with each distinct
 * chunk once and the artifacts' chunk lists as indexes. For a daily run of LUN heads (20 chunks
 * each, 4 dense and the zero chunk 16 times) it is a small fraction of format 1, reads back as
 * the same manifest, and the reader still takes format 1's plain JSON.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CaptureManifest, CaptureManifestV2, ManifestChunk } from '../../formats/protocol.js';
import { artifactId } from '../../api/ingest/begin.js';
import { compactManifest, decodeManifest, encodeManifest } from '../../api/pipeline/manifest.js';

const MiB = 1024 * 1024;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const enc = (s: string) => new TextEncoder().encode(s);

/** 50 LUN heads × 20 MiB as the collector bench's day sees them. */
function lunHeads(luns = 50): CaptureManifest {
  const captureId = '019ad5c0-0000-7000-8000-000000000001';
  const zero: ManifestChunk = { sha256: sha('zero'), size: MiB, encoding: 'gzip', storedSize: 1053 };
  const artifacts = Array.from({ length: luns }, (_, i) => ({
    id: artifactId(captureId, i),
    kind: 'vmfs-header' as const,
    fileName: `naa.6000${i}.hex`,
    sourcePath: `/dev/disks/naa.6000${i}`,
    device: `naa.6000${i}`,
    size: 20 * MiB,
    sha256: sha(`lun ${i}`),
    chunks: Array.from(
      { length: 20 },
      (_, k): ManifestChunk => (k % 4 === 3 && k < 16 ? { sha256: sha(`lun ${i} chunk ${k}`), size: MiB, encoding: 'gzip', storedSize: 12_000 + k } : zero),
    ),
  }));
  return {
    captureId,
    host: { name: 'esx01', kind: 'esxi' },
    collectedAt: '2026-11-30T02:00:00.000Z',
    receivedAt: '2026-11-30T02:00:01.000Z',
    committedAt: '2026-11-30T02:00:03.000Z',
    collector: { version: '0.1.0' },
    artifacts,
  };
}

describe('manifest format 2', () => {
  it('lists each distinct chunk once and is a small fraction of format 1', async () => {
    const m = lunHeads();
    const compact = compactManifest(m);
    expect(compact.chunks).toHaveLength(50 * 4 + 1); // 4 dense per LUN and one zero chunk
    expect(compact.artifacts[0].chunks.slice(0, 4)).toEqual([0, 0, 0, 1]);
    const formatOne = enc(JSON.stringify({ format: 'vmfs-catalog-manifest/1', ...m })).length;
    const bytes = await encodeManifest(m);
    const inner = JSON.parse(gunzipSync(bytes).toString('utf8')) as CaptureManifestV2;
    expect(inner.format).toBe('vmfs-catalog-manifest/2');
    // About 140 KiB as format 1; the dense chunks' hashes are what is left (201 × 32 bytes of entropy).
    expect(formatOne).toBeGreaterThan(130 * 1024);
    expect(bytes.length).toBeLessThan(formatOne / 8);
    expect(bytes.length).toBeLessThan(16 * 1024);
  });

  it('reads back as the manifest it was made from', async () => {
    const m = lunHeads(3);
    expect(await decodeManifest(await encodeManifest(m))).toEqual(m);
  });

  it('reads format 1 (plain JSON, chunks written out) as before', async () => {
    const m = lunHeads(2);
    expect(await decodeManifest(enc(JSON.stringify({ format: 'vmfs-catalog-manifest/1', ...m })))).toEqual(m);
  });

  it('refuses an index outside the chunk table, an unknown format and a manifest without its fields', async () => {
    const compact = compactManifest(lunHeads(1));
    compact.artifacts[0].chunks[5] = compact.chunks.length;
    await expect(decodeManifest(gzipSync(JSON.stringify(compact)))).rejects.toThrow(/names chunk 5, not in its table of 5/);
    await expect(decodeManifest(enc(JSON.stringify({ ...lunHeads(1), format: 'vmfs-catalog-manifest/3' })))).rejects.toThrow(
      /format "vmfs-catalog-manifest\/3"/,
    );
    await expect(decodeManifest(enc(JSON.stringify({ format: 'vmfs-catalog-manifest/2', captureId: 'x' })))).rejects.toThrow(
      /^format 2 manifest with fields no commit writes: captureId: is not a lower-case UUID; host: .*; and \d+ more$/,
    );
    await expect(decodeManifest(enc('{}'))).rejects.toThrow(/format null/);
  });

  it('refuses what no commit writes, in either format, naming the field', async () => {
    const damaged = async (damage: (m: CaptureManifestV2) => void) => {
      const compact = compactManifest(lunHeads(2));
      damage(compact);
      return decodeManifest(gzipSync(JSON.stringify(compact)));
    };
    await expect(damaged((m) => (m.captureId = m.captureId.toUpperCase()))).rejects.toThrow(/captureId: is not a lower-case UUID/);
    await expect(damaged((m) => (m.chunks[2].encoding = 'zstd' as 'gzip'))).rejects.toThrow(/chunks\[2\]\.encoding: /);
    await expect(damaged((m) => (m.chunks[2].size = MiB + 1))).rejects.toThrow(/chunks\[2\]\.size: /);
    await expect(damaged((m) => (m.artifacts[1].chunks[3] = 1.5))).rejects.toThrow(/artifacts\[1\]\.chunks\[3\]: .*expected int/);
    await expect(damaged((m) => ((m.artifacts[1].chunks as unknown[])[3] = '0'))).rejects.toThrow(/artifacts\[1\]\.chunks\[3\]: .*expected number/);
    await expect(damaged((m) => (m.artifacts[1].device = 'x'.repeat(1025)))).rejects.toThrow(/artifacts\[1\]\.device: is 1025 bytes/);
    await expect(damaged((m) => (m.chunks[0] = { ...m.chunks[0], encoding: 'identity' }))).rejects.toThrow(
      /artifacts\[0\]: identity chunk [0-9a-f]{64} is stored as 1053 bytes, not its 1048576/,
    );
    // The zero chunk listed again with another size, and used: one chunk, two sizes.
    await expect(
      damaged((m) => {
        m.chunks.push({ ...m.chunks[0], size: 4096 });
        m.artifacts[1].chunks[0] = m.chunks.length - 1;
        m.artifacts[1].size -= MiB - 4096;
      }),
    ).rejects.toThrow(/artifacts\[1\]: chunk [0-9a-f]{64} has two sizes \(1048576 and 4096\)/);
    const formatOne = { format: 'vmfs-catalog-manifest/1', ...lunHeads(2) };
    formatOne.artifacts[1].chunks[4] = { ...formatOne.artifacts[1].chunks[4], sha256: '../../tokens/admin' };
    await expect(decodeManifest(enc(JSON.stringify(formatOne)))).rejects.toThrow(
      /^format 1 manifest with fields no commit writes: artifacts\[1\]\.chunks\[4\]\.sha256: must be 64 lower-case hex digits$/,
    );
  });
});
