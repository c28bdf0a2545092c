/**
 * A commit writes its manifest before its transaction commits (the store is the source of
 * truth). When COMMIT then fails, the store holds a manifest while the capture row is still
 * open and no artifact rows exist (its chunk lists are stored, without their rows) — simulated here by writing that manifest with the store
 * directly after begin and upload. Whichever comes next, `rebuild` or the collector's retry
 * of the commit with the same capture id, indexes the capture; the other finds it committed.
 * Either way every row exists exactly once, and a repeated rebuild changes nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { artifactId } from '../../api/ingest/begin.js';
import { rebuildCatalog } from '../../api/admin/rebuild.js';
import type { BlobStore } from '../../api/store/types.js';
import { chunkKey, manifestKey } from '../../api/store/types.js';
import type { CaptureManifest } from '../../formats/protocol.js';
import { encodeChunkList, encodeManifest } from '../../api/pipeline/manifest.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { zfsListSnapshots } from '../fixtures/text-fixtures.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, prepareCapture, uploadMissing, type PreparedCapture } from '../helpers/ingest-client.js';

const zfs = new TextEncoder().encode(
  zfsListSnapshots([
    { name: 'tank/iscsi/lun0@daily-2026-11-01', creation: 1793491200, used: 1024 },
    { name: 'tank/iscsi/lun0@daily-2026-11-02', creation: 1793577600, used: 2048 },
  ]),
);

/** The manifest the failed commit wrote: identity chunks, so stored size = size. */
function manifestOf(p: PreparedCapture): CaptureManifest {
  const r = p.request;
  return {
    captureId: r.captureId,
    host: r.host,
    collectedAt: r.collectedAt,
    receivedAt: r.collectedAt,
    committedAt: r.collectedAt,
    collector: r.collector,
    artifacts: r.artifacts.map((a, i) => ({
      id: artifactId(r.captureId, i),
      kind: a.kind,
      fileName: a.fileName,
      sourcePath: a.sourcePath,
      device: a.device ?? null,
      size: a.size,
      sha256: a.sha256,
      chunks: a.chunks.map((c) => ({ sha256: c.sha256, size: c.size, encoding: 'identity' as const, storedSize: c.size })),
    })),
  };
}

/** Begins and uploads a capture, then leaves what a failed COMMIT leaves: its manifest and an open row. */
async function failedCommit(catalog: TestCatalog, host: string, collectedAt: string): Promise<PreparedCapture> {
  const prepared = prepareCapture({
    host,
    collectedAt,
    artifacts: [
      { kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' }) },
      { kind: 'zfs-snapshots', fileName: 'zfs-snapshots.txt', bytes: zfs },
    ],
  });
  await uploadMissing(catalog, prepared, await begin(catalog, prepared.request));
  // The commit verified the staged uploads and published them under their chunk keys
  // before its transaction failed.
  for (const [sha, bytes] of prepared.stored) await catalog.services.store.putIfAbsent(chunkKey(sha), bytes);
  const key = manifestKey(prepared.request.host.name, prepared.request.captureId);
  const manifest = manifestOf(prepared);
  // Its artifacts' chunk lists, stored before the manifest that names them (format 3).
  for (const a of manifest.artifacts) {
    const list = await encodeChunkList(a);
    await catalog.services.store.putIfAbsent(chunkKey(list.chunk.sha256), list.stored);
    a.chunkList = list.chunk;
  }
  await catalog.services.store.put(key, await encodeManifest(manifest));
  return prepared;
}

/** How many rows each table holds for one capture. */
async function rowsOf(catalog: TestCatalog, captureId: string): Promise<Record<string, number>> {
  const count = async (table: string) =>
    (
      await queryRows<{ n: number }>(
        catalog.services.db,
        sql`SELECT count(*)::int AS n FROM ${sql.raw(table)} WHERE ${sql.raw(table === 'captures' ? 'id' : 'capture_id')} = ${captureId}`,
      )
    )[0].n;
  return {
    captures: await count('captures'),
    artifacts: await count('artifacts'),
    extents: await count('extents'),
    zfs_snapshots: await count('zfs_snapshots'),
    events: await count('events'),
  };
}

describeEachFlavour('rebuild after a commit whose transaction failed', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('rebuild first: indexes the capture once; the commit retry answers committed without duplicates', async () => {
    const prepared = await failedCommit(catalog, 'esx31', '2026-11-01T02:00:00.000Z');
    const captureId = prepared.request.captureId;
    expect((await rowsOf(catalog, captureId)).artifacts).toBe(0);

    const first = await rebuildCatalog(catalog.services);
    expect(first.errors).toEqual([]);
    expect(first.captures).toBe(1);
    const after = await rowsOf(catalog, captureId);
    expect(after).toMatchObject({ captures: 1, artifacts: 2, zfs_snapshots: 2 });
    expect(after.extents).toBeGreaterThan(0);

    const again = await rebuildCatalog(catalog.services);
    expect(again.captures).toBe(0);
    expect(await rowsOf(catalog, captureId)).toEqual(after);

    const retried = await commit(catalog, captureId);
    expect(retried.state).toBe('committed');
    expect(retried.artifacts.map((a) => a.id)).toEqual([artifactId(captureId, 0), artifactId(captureId, 1)]);
    expect(retried.artifacts.map((a) => a.parseStatus)).toEqual(['ok', 'ok']);
    expect(await rowsOf(catalog, captureId)).toEqual(after);
  });

  it('commit retry first: rebuild leaves the committed capture alone', async () => {
    const prepared = await failedCommit(catalog, 'esx32', '2026-11-02T02:00:00.000Z');
    const captureId = prepared.request.captureId;
    const retried = await commit(catalog, captureId);
    expect(retried.state).toBe('committed');
    const after = await rowsOf(catalog, captureId);
    expect(after).toMatchObject({ captures: 1, artifacts: 2, zfs_snapshots: 2 });

    const rebuilt = await rebuildCatalog(catalog.services);
    expect(rebuilt.errors).toEqual([]);
    expect(rebuilt.captures).toBe(0);
    expect(await rowsOf(catalog, captureId)).toEqual(after);
  });

  it('a commit retry landing while rebuild works on the capture: rebuild skips it, rows exist once', async () => {
    const prepared = await failedCommit(catalog, 'esx33', '2026-11-03T02:00:00.000Z');
    const captureId = prepared.request.captureId;
    // Rebuild's store holds its first chunk read until the retry has committed: rebuild has
    // then seen the row open and parses the capture while the retry commits it.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let reached!: () => void;
    const atGate = new Promise<void>((r) => {
      reached = r;
    });
    const real = catalog.services.store;
    const gated = new Proxy(real, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const call = () => (v as (...a: unknown[]) => unknown).apply(target, args);
          if (typeof args[0] === 'string' && args[0].startsWith('chunks/') && prop !== 'list') {
            reached();
            return gate.then(call);
          }
          return call();
        };
      },
    }) as BlobStore;

    const rebuilding = rebuildCatalog({ ...catalog.services, store: gated });
    await atGate;
    const retried = await commit(catalog, captureId);
    expect(retried.state).toBe('committed');
    const after = await rowsOf(catalog, captureId);
    release();
    const rebuilt = await rebuilding;
    expect(rebuilt.errors).toEqual([]);
    expect(rebuilt.captures).toBe(0);
    expect(await rowsOf(catalog, captureId)).toEqual(after);
    expect(after).toMatchObject({ captures: 1, artifacts: 2, zfs_snapshots: 2 });
  });
});
