/**
 * `check` on both stores: a fresh store is clean; a stored chunk whose bytes changed (same
 * length) is found by the read-data scrub and raises a chunk-corrupt event naming the
 * artifact and its extent's device, its damaged copy is set aside and the next capture of the
 * same bytes stores it again; a deleted chunk is listed as missing with the artifact
 * that needs it; the scrub goes on where it stopped.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, sha256Hex } from '../helpers/ingest-client.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { chunkKey } from '../../api/store/types.js';

describeEachFlavour('check and scrub', (flavour) => {
  let catalog: TestCatalog;
  let header: Uint8Array;
  let headerArtifact: string;
  let otherArtifact: string;
  const other = randomBytes(5000);
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    header = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' });
    const done = await ingest(catalog, {
      host: 'esx1',
      hostKind: 'esxi',
      artifacts: [
        { kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header },
        { kind: 'unknown', fileName: 'other.bin', bytes: other },
      ],
    });
    headerArtifact = done.artifacts[0].id;
    otherArtifact = done.artifacts[1].id;
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
  });

  const check = async (percent?: number) =>
    (await catalog.request(`/v1/admin/check${percent === undefined ? '' : `?read_data_subset=${percent}`}`, { method: 'POST' })).json();

  it('reports a clean store clean, and a scrub slice goes on where the last stopped', async () => {
    const r = await check(50);
    expect(r.clean).toBe(true);
    expect(r.chunksStored).toBe(r.chunksReferenced);
    expect(r.scrub.read).toBe(Math.ceil(r.chunksStored / 2));
    const next = await check(50);
    expect(next.scrub.from).toBe(r.scrub.to);
    expect(next.clean).toBe(true);
  });

  it('raises chunk-corrupt for a chunk whose bytes changed, naming the artifact and device', async () => {
    // The header dump's first 1 MiB chunk (chunks are 1 MiB, docs/architecture.md "Ingest protocol").
    const first = header.subarray(0, Math.min(header.length, 1024 * 1024));
    const sha = sha256Hex(first);
    const bad = new Uint8Array(first);
    bad[100] ^= 0xff;
    await catalog.services.store.put(chunkKey(sha), bad);
    const r = await check(100);
    expect(r.clean).toBe(false);
    expect(r.scrub.corrupt.map((c: { sha256: string }) => c.sha256)).toEqual([sha]);
    expect(r.scrub.corrupt[0].artifacts).toEqual([headerArtifact]);
    const events = await (await catalog.request('/v1/events?type=chunk-corrupt')).json();
    const list = (events.events ?? events.items ?? events) as Array<{ type: string; artifactId: string; deviceId: string | null; severity: string }>;
    const mine = list.filter((e) => e.type === 'chunk-corrupt');
    expect(mine.length).toBe(1);
    expect(mine[0]).toMatchObject({ artifactId: headerArtifact, deviceId: DEFAULTS.deviceId, severity: 'critical' });
    expect((mine[0] as unknown as { message: string }).message).toContain(`set aside as quarantine/${sha}`);
    // The damaged copy is set aside and its key freed: its record goes, so the host is asked for it again.
    const { store } = catalog.services;
    expect(Buffer.from((await store.getBytes(`quarantine/${sha}`))!).equals(Buffer.from(bad))).toBe(true);
    expect(await store.head(chunkKey(sha))).toBeNull();
    // A second scrub does not repeat the event: the chunk is missing now, not corrupt.
    const second = await check(100);
    expect(second.scrub.corrupt).toEqual([]);
    expect(second.missingChunks.map((m: { sha256: string }) => m.sha256)).toContain(sha);
    const again = await (await catalog.request('/v1/events?type=chunk-corrupt')).json();
    expect(((again.events ?? again.items ?? again) as unknown[]).length).toBe(1);
    // The next capture of the same bytes uploads the chunk again, and the first artifact reads whole.
    await ingest(catalog, {
      host: 'esx1',
      hostKind: 'esxi',
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header }],
    });
    const res = await catalog.request(`/v1/artifacts/${headerArtifact}/content`);
    expect(res.status).toBe(200);
    expect(sha256Hex(new Uint8Array(await res.arrayBuffer()))).toBe(sha256Hex(header));
  });

  it('lists a deleted chunk as missing, with the artifact that needs it', async () => {
    const sha = sha256Hex(other);
    await catalog.services.store.delete(chunkKey(sha));
    const r = await check();
    expect(r.missingChunks).toEqual([{ sha256: sha, artifacts: [otherArtifact] }]);
    // Counted once: as a missing chunk, not also as a blobs row without its object.
    expect(r.orphanRows.blobs).toEqual([]);
    expect(r.clean).toBe(false);
  });
});
