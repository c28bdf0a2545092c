/**
 * A capture's manifest as commit stores it. Format 3: gzip-compressed JSON naming each
 * artifact's chunk list by its SHA-256, the list stored once as a chunk — for a daily run of 50
 * LUN heads a few KiB, where format 2 (what commits stored before: each distinct chunk once, the
 * artifacts' chunk lists as indexes) still held every distinct chunk's hash, and format 1 wrote
 * the zero chunk out sixteen times an artifact. Every format reads back as the same manifest.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CaptureManifest, CaptureManifestV2, CaptureManifestV3, ChunkListV1, ManifestChunk } from '../../formats/protocol.js';
import { artifactId } from '../../api/ingest/begin.js';
import {
  type ChunkListSource,
  compactManifest,
  decodeChunkList,
  decodeManifest,
  encodeChunkList,
  encodeManifest,
  encodeManifestV2,
} from '../../api/pipeline/manifest.js';
import { chunkListReader } from '../../api/pipeline/chunk-lists.js';
import { type BlobStore, chunkKey } from '../../api/store/types.js';

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
    const bytes = await encodeManifestV2(m);
    const inner = JSON.parse(gunzipSync(bytes).toString('utf8')) as CaptureManifestV2;
    expect(inner.format).toBe('vmfs-catalog-manifest/2');
    // About 140 KiB as format 1; the dense chunks' hashes are what is left (201 × 32 bytes of entropy).
    expect(formatOne).toBeGreaterThan(130 * 1024);
    expect(bytes.length).toBeLessThan(formatOne / 8);
    expect(bytes.length).toBeLessThan(16 * 1024);
  });

  it('reads back as the manifest it was made from', async () => {
    const m = lunHeads(3);
    expect(await decodeManifest(await encodeManifestV2(m))).toEqual(m);
  });

  it('reads format 1 (plain JSON, chunks written out) as before', async () => {
    const m = lunHeads(2);
    expect(await decodeManifest(enc(JSON.stringify({ format: 'vmfs-catalog-manifest/1', ...m })))).toEqual(m);
  });

  it('refuses an index outside the chunk table, an unknown format and a manifest without its fields', async () => {
    const compact = compactManifest(lunHeads(1));
    compact.artifacts[0].chunks[5] = compact.chunks.length;
    await expect(decodeManifest(gzipSync(JSON.stringify(compact)))).rejects.toThrow(/names chunk 5, not in its table of 5/);
    await expect(decodeManifest(enc(JSON.stringify({ ...lunHeads(1), format: 'vmfs-catalog-manifest/4' })))).rejects.toThrow(
      /format "vmfs-catalog-manifest\/4"/,
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

/** The manifest with each artifact's chunk list encoded, and a source that reads them from memory as the store holds them. */
async function withLists(m: CaptureManifest): Promise<{ m: CaptureManifest; stored: Map<string, Uint8Array>; source: ChunkListSource }> {
  const stored = new Map<string, Uint8Array>();
  for (const a of m.artifacts) {
    const list = await encodeChunkList(a);
    stored.set(list.chunk.sha256, list.stored);
    a.chunkList = list.chunk;
  }
  const source: ChunkListSource = async (sha) => {
    const raw = stored.get(sha);
    if (!raw) throw new Error(`chunk list ${sha} is missing`);
    return decodeChunkList(sha, raw);
  };
  return { m, stored, source };
}

describe('manifest format 3', () => {
  it('names each chunk list by its hash: a few KiB for 50 LUN heads, a fraction of format 2', async () => {
    const { m, stored } = await withLists(lunHeads());
    const bytes = await encodeManifest(m);
    const inner = JSON.parse(gunzipSync(bytes).toString('utf8')) as CaptureManifestV3;
    expect(inner.format).toBe('vmfs-catalog-manifest/3');
    expect(inner.artifacts[0]).toEqual({
      kind: 'vmfs-header',
      fileName: 'naa.60000.hex',
      sourcePath: '/dev/disks/naa.60000',
      device: 'naa.60000',
      chunkList: m.artifacts[0].chunkList!.sha256,
    });
    // 50 list hashes (32 bytes of entropy each) and the names; format 2 held 201 chunk hashes.
    expect(bytes.length).toBeLessThan(4 * 1024);
    expect(bytes.length).toBeLessThan((await encodeManifestV2(m)).length / 3);
    // A list: the artifact's size, hash, its 5 distinct chunks and their order, gzip-compressed.
    const list = JSON.parse(gunzipSync(stored.get(inner.artifacts[0].chunkList)!).toString('utf8')) as ChunkListV1;
    expect(list).toMatchObject({ format: 'vmfs-catalog-chunk-list/1', size: 20 * MiB, sha256: sha('lun 0') });
    expect(list.chunks).toHaveLength(5);
    expect(list.order.slice(0, 5)).toEqual([0, 0, 0, 1, 0]);
    expect(stored.get(inner.artifacts[0].chunkList)!.length).toBeLessThan(600);
  });

  it('reads back as the manifest it was made from, each list as the chunk it rests as', async () => {
    const { m, source, stored } = await withLists(lunHeads(3));
    const back = await decodeManifest(await encodeManifest(m), source);
    expect(back).toEqual(m);
    expect(back.artifacts[1].chunkList).toEqual({
      sha256: m.artifacts[1].chunkList!.sha256,
      size: expect.any(Number),
      encoding: 'gzip',
      storedSize: stored.get(m.artifacts[1].chunkList!.sha256)!.length,
    });
    // A list resting as identity (a host stored the same bytes as a chunk of its own) reads the same.
    const sha1 = m.artifacts[1].chunkList!.sha256;
    const plain = gunzipSync(stored.get(sha1)!);
    const again = await decodeManifest(await encodeManifest(m), async (sha) => decodeChunkList(sha, sha === sha1 ? plain : stored.get(sha)!));
    expect(again.artifacts[1].chunks).toEqual(m.artifacts[1].chunks);
    expect(again.artifacts[1].chunkList).toMatchObject({ encoding: 'identity', storedSize: plain.length });
  });

  it('gives the same bytes the same list, whatever the artifact is called, and a changed chunk another', async () => {
    const [a, b] = lunHeads(2).artifacts;
    const renamed = { ...a, fileName: 'other.hex', sourcePath: '/elsewhere', device: null };
    expect((await encodeChunkList(renamed)).chunk).toEqual((await encodeChunkList(a)).chunk);
    expect((await encodeChunkList(b)).chunk.sha256).not.toBe((await encodeChunkList(a)).chunk.sha256);
    const changed = { ...a, chunks: [...a.chunks] };
    changed.chunks[3] = { ...changed.chunks[3], sha256: sha('changed') };
    expect((await encodeChunkList(changed)).chunk.sha256).not.toBe((await encodeChunkList(a)).chunk.sha256);
  });

  it('is an error naming the artifact and the list when a list is missing, and without lists at all', async () => {
    const { m, stored, source } = await withLists(lunHeads(3));
    const bytes = await encodeManifest(m);
    stored.delete(m.artifacts[2].chunkList!.sha256);
    await expect(decodeManifest(bytes, source)).rejects.toThrow(
      new RegExp(`^manifest artifacts\\[2\\] \\(naa\\.60002\\.hex\\): chunk list ${m.artifacts[2].chunkList!.sha256} is missing$`),
    );
    await expect(decodeManifest(bytes)).rejects.toThrow(/format 3 manifest is read with its chunk lists/);
  });

  it('reads each list once for many manifests, and keeps a bounded part of them', async () => {
    const { m, stored } = await withLists(lunHeads(4));
    const bytes = await encodeManifest(m);
    const gets: string[] = [];
    const store = {
      getBytes: async (key: string) => {
        gets.push(key);
        return stored.get(key.slice(key.lastIndexOf('/') + 1)) ?? null;
      },
    } as unknown as BlobStore;
    const roomy = chunkListReader(store);
    for (let day = 0; day < 3; day++) await decodeManifest(bytes, roomy);
    expect(gets.sort()).toEqual(m.artifacts.map((a) => chunkKey(a.chunkList!.sha256)).sort());
    // Room for about one list: the reader holds one, and each later manifest reads its other three again.
    gets.length = 0;
    const tight = chunkListReader(store, m.artifacts[0].chunkList!.size + 1);
    for (let day = 0; day < 3; day++) expect(await decodeManifest(bytes, tight)).toEqual(m);
    expect(gets).toHaveLength(4 + 2 * 3);
  });
});
