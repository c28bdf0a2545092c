/**
 * A format 3 chunk list is stored once and named by every capture of the same bytes, on any host
 * and day: two hosts whose LUN heads are identical share one. With that list object lost,
 * `rebuild` into an empty catalog recreates both captures with their other artifacts (ids of their
 * places in the manifest), reports each artifact left out (manifest key, index, file name, list,
 * why), and `check` names them; the rebuilt captures serve search, the volume page, a restore
 * bundle, retention and a later begin of the host; `check` names each artifact a manifest names
 * that has no row. A later commit of the same bytes stores the list again, and a rebuild after it
 * brings the artifacts left out back into the captures the catalog holds (it skipped them), as a
 * rebuild into an empty catalog restores every artifact. (Before, each manifest naming the list
 * was a rebuild error: both captures and a host were gone.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CaptureManifestV3 } from '../../formats/protocol.js';
import { artifactId } from '../../api/ingest/begin.js';
import type { CheckReport } from '../../api/retention/check.js';
import type { RebuildResult } from '../../api/admin/rebuild.js';
import { cli, cliEnvOf } from '../helpers/in-process-cli.js';
import { chunkKey } from '../../api/store/types.js';
import { queryRows } from '../../db/client.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, IngestHttpError, ingest, prepareCapture, type IngestInput } from '../helpers/ingest-client.js';

const TABLES = 'hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events';
/**
 * LUN heads dumped through the FS descriptor; a small data offset puts it near 3 MiB (at the
 * default offset each dump is 20 MiB, which only makes every commit and rebuild read more).
 */
const HEAD = { lvmMajor: 5, dataOffset: 0x100000 } as const;
const SHARED = buildVmfsDisk(HEAD);
/** Each host's own LUN head: a volume of its own, which stays readable. */
const OWN = {
  esx61: { vmfsUuid: '5b2d4f80-3c5e7f91-a2b3-0050569a1b61', deviceId: 'naa.60060160123456780000000000000061' },
  esx62: { vmfsUuid: '5b2d4f80-3c5e7f91-a2b3-0050569a1b62', deviceId: 'naa.60060160123456780000000000000062' },
};
type Host = keyof typeof OWN;

function captureOf(host: Host, collectedAt: Date): IngestInput {
  const own = OWN[host];
  return {
    host,
    hostKind: 'esxi',
    collectedAt,
    artifacts: [
      { kind: 'vmfs-header', fileName: 'shared.hex', device: DEFAULTS.deviceId, bytes: SHARED },
      {
        kind: 'vmfs-header',
        fileName: 'own.hex',
        device: own.deviceId,
        bytes: buildVmfsDisk({ ...HEAD, vmfsUuid: own.vmfsUuid, deviceId: own.deviceId, label: host }),
      },
    ],
  };
}

describeEachFlavour('a lost chunk list two hosts share', (flavour) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-lost-list-'));
  let catalog: TestCatalog | undefined;
  const captures: Record<Host, { id: string; key: string }> = {} as never;
  let list = '';
  const t0 = new Date('2026-11-10T02:00:00Z');
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { env: { DATA_DIR: dataDir } });
    for (const [i, host] of (['esx61', 'esx62'] as const).entries()) {
      const done = await ingest(catalog, captureOf(host, new Date(t0.getTime() + i * 3_600_000)));
      captures[host] = { id: done.captureId, key: done.manifestKey };
    }
    const { store } = catalog.services;
    const named = await Promise.all(
      Object.values(captures).map(
        async (c) => (JSON.parse(gunzipSync((await store.getBytes(c.key))!).toString('utf8')) as CaptureManifestV3).artifacts[0].chunkList,
      ),
    );
    expect(named[0]).toBe(named[1]);
    list = named[0];
    await store.delete(chunkKey(list));
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = async <T>(path: string): Promise<T> => {
    const res = await catalog!.request(path, { method: 'POST' });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as T;
  };
  /** What check says of the artifact each manifest names and the catalog has no row of. */
  const withoutRow = () =>
    (['esx61', 'esx62'] as const)
      .map((host) => ({ key: captures[host].key, artifactId: artifactId(captures[host].id, 0), index: 0, fileName: 'shared.hex' }))
      .sort((a, b) => a.key.localeCompare(b.key));
  const leftOut = (host: Host) => ({
    key: captures[host].key,
    index: 0,
    fileName: 'shared.hex',
    chunkList: list,
    message: expect.stringContaining(`chunk list ${list} is missing (${chunkKey(list)})`),
  });

  it('rebuild into an empty catalog keeps both captures with their other artifact, and reports the one left out', async () => {
    await catalog!.services.db.execute(sql.raw(`TRUNCATE ${TABLES} RESTART IDENTITY`));
    const result = await post<RebuildResult>('/v1/admin/rebuild');
    expect(result).toMatchObject({ manifests: 2, captures: 2, skipped: 0, artifacts: 2, errors: [] });
    expect(result.artifactsLeftOut).toEqual([leftOut('esx61'), leftOut('esx62')]);
    const rows = await queryRows<{ id: string; capture_id: string; file_name: string }>(
      catalog!.services.db,
      sql`select id, capture_id, file_name from artifacts order by collected_at`,
    );
    // The kept artifact has the id of its place in the manifest, as commit gave it.
    expect(rows).toEqual([
      { id: artifactId(captures.esx61.id, 1), capture_id: captures.esx61.id, file_name: 'own.hex' },
      { id: artifactId(captures.esx62.id, 1), capture_id: captures.esx62.id, file_name: 'own.hex' },
    ]);
    const hosts = await queryRows<{ name: string }>(catalog!.services.db, sql`select name from hosts order by name`);
    expect(hosts.map((h) => h.name)).toEqual(['esx61', 'esx62']);
  });

  it('check names each manifest whose artifact has no readable list', async () => {
    const report = await post<CheckReport>('/v1/admin/check');
    expect(report.unreadableManifests).toEqual(
      [captures.esx61.key, captures.esx62.key].sort().map((key) => ({
        key,
        message: expect.stringMatching(new RegExp(`^manifest artifacts\\[0\\] \\(shared\\.hex\\): chunk list ${list} is missing`)),
      })),
    );
    expect(report).toMatchObject({ manifestsWithoutCapture: [], capturesWithoutManifest: [], missingChunks: [], clean: false });
    expect(report.artifactsWithoutRow).toEqual(withoutRow());
  });

  it('the rebuilt captures serve search, the volume page, a restore bundle, retention and a begin of the host', async () => {
    const c = catalog!;
    for (const host of ['esx61', 'esx62'] as const) {
      const { vmfsUuid } = OWN[host];
      const search = await c.request(`/v1/search?q=${vmfsUuid}`);
      expect(search.status).toBe(200);
      expect(((await search.json()) as { hits: unknown[] }).hits.length).toBeGreaterThan(0);
      expect((await c.request(`/v1/volumes/${vmfsUuid}`)).status).toBe(200);
      const bundle = await c.request(`/v1/volumes/${vmfsUuid}/restore-bundle`);
      expect(bundle.status).toBe(200);
      expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    // The shared volume's only artifacts were left out: it is not in the catalog.
    expect((await c.request(`/v1/volumes/${DEFAULTS.vmfsUuid}`)).status).toBe(404);
    const dry = await c.request('/v1/retention/run?dry_run=true', { method: 'POST' });
    expect(dry.status, await dry.clone().text()).toBe(200);
    // The collector declares an unchanged artifact by its previous id: the kept one is taken,
    // the left-out one refused (the collector then declares its chunks, below).
    const byPrevious = (index: number) => {
      const prepared = prepareCapture(captureOf('esx61', new Date(t0.getTime() + 86_400_000)));
      const { chunks: _, ...ref } = prepared.request.artifacts[index];
      prepared.request.artifacts[index] = { ...ref, previous: artifactId(captures.esx61.id, index) } as never;
      return begin(c, prepared.request);
    };
    await expect(byPrevious(1)).resolves.toMatchObject({ captureId: expect.any(String) });
    const refused = await byPrevious(0).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IngestHttpError);
    expect(String(refused)).toMatch(/artifact 0: its previous artifact is not one host esx61 committed/);
  });

  it('a later commit of the same bytes stores the list again, and a rebuild then restores every artifact', async () => {
    const later = await ingest(catalog!, captureOf('esx61', new Date(t0.getTime() + 2 * 86_400_000)));
    expect(later.artifacts).toHaveLength(2);
    expect(await catalog!.services.store.head(chunkKey(list))).not.toBeNull();
    const report = await post<CheckReport>('/v1/admin/check');
    expect(report.unreadableManifests).toEqual([]);
    // The lists read again, the rows are still missing: check says so, and a rebuild over the
    // catalog as it is (its captures all present) brings them back into their captures.
    expect(report.artifactsWithoutRow).toEqual(withoutRow());
    const over = await post<RebuildResult>('/v1/admin/rebuild');
    expect(over).toMatchObject({ manifests: 3, captures: 0, skipped: 3, artifacts: 2, errors: [], artifactsLeftOut: [] });
    expect(over.artifactsBroughtBack).toEqual((['esx61', 'esx62'] as const).map((host) => ({ key: captures[host].key, index: 0, fileName: 'shared.hex' })));
    const rows = await queryRows<{ id: string }>(catalog!.services.db, sql`select id from artifacts where file_name = 'shared.hex' order by collected_at`);
    expect(rows.map((r) => r.id)).toEqual([artifactId(captures.esx61.id, 0), artifactId(captures.esx62.id, 0), later.artifacts[0].id]);
    const after = await post<CheckReport>('/v1/admin/check');
    expect(after.artifactsWithoutRow).toEqual([]);
    expect(after.clean).toBe(true);
    // Nothing left to bring back: a second rebuild changes nothing.
    expect(await post<RebuildResult>('/v1/admin/rebuild')).toMatchObject({
      captures: 0,
      skipped: 3,
      artifacts: 0,
      artifactsBroughtBack: [],
      artifactsLeftOut: [],
    });
    await catalog!.services.db.execute(sql.raw(`TRUNCATE ${TABLES} RESTART IDENTITY`));
    const result = await post<RebuildResult>('/v1/admin/rebuild');
    expect(result).toMatchObject({ manifests: 3, captures: 3, artifacts: 6, errors: [], artifactsLeftOut: [] });
    expect((await catalog!.request(`/v1/volumes/${DEFAULTS.vmfsUuid}`)).status).toBe(200);
  });

  it('the CLI prints each artifact left out and exits 2', { timeout: 120_000 }, async () => {
    const c = catalog!;
    await c.services.db.execute(sql.raw(`TRUNCATE ${TABLES} RESTART IDENTITY`));
    await c.services.store.delete(chunkKey(list));
    const { env, closed } = await cliEnvOf(c, flavour, dataDir);
    if (closed) catalog = undefined;
    const run = await cli(['rebuild'], env);
    expect(run.err).toBe('');
    expect(run.code).toBe(2);
    expect(run.out).toMatch(
      /^rebuild: 3 manifests, 3 captures recreated \(3 artifacts\), 0 already present, \d+ tokens restored, 0 errors, 3 artifacts left out/,
    );
    for (const host of ['esx61', 'esx62'] as const)
      expect(run.out).toContain(
        `\n  ${captures[host].key} artifacts[0] (shared.hex) chunk list ${list}: manifest artifacts[0] (shared.hex): chunk list ${list} is missing`,
      );
  });
});
