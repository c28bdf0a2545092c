/**
 * A collector whose clock is ahead (400 days; a hardware clock in local time is hours): its
 * capture was accepted and then hidden from every restore bundle and DR plan ("nothing at or
 * before now") until that time came, and its host never looked stale. Over real HTTP on both
 * databases: the commit stores it at its receipt time and says so in its answer, a clock-skew
 * warning names the host (resolved by its next capture with a right clock), the bundle is served
 * now, the manifest keeps the time the collector sent, and rebuild stores the same time again.
 * A clock a few minutes ahead is taken as sent.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '../../db/client.js';
import { rebuildCatalog } from '../../api/admin/rebuild.js';
import { decodeManifest } from '../../api/pipeline/manifest.js';
import { chunkListReader } from '../../api/pipeline/chunk-lists.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const DAY = 24 * 3600_000;
const iso = (v: unknown) => new Date(v as string).toISOString();

describeEachFlavour('a collector clock ahead of the catalog', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
  });
  afterAll(async () => {
    await catalog?.close();
  });
  const header = buildVmfsDisk({ lvmMajor: 5 });
  const json = async (path: string) => {
    const res = await catalog.request(path);
    expect(res.status, path).toBe(200);
    return res.json();
  };

  it('is stored at receipt, warned of, served now, and rebuilt the same', async () => {
    const ahead = new Date(Date.now() + 400 * DAY);
    const answer = await ingest(catalog, {
      host: 'esx-ahead',
      collectedAt: ahead,
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header }],
    });
    const [row] = await queryRows<{ collected_at: unknown; received_at: unknown; sent: string }>(
      catalog.services.db,
      sql`SELECT collected_at, received_at, request->>'collectedAt' AS sent FROM captures WHERE id = ${answer.captureId}`,
    );
    expect(iso(row.collected_at)).toBe(iso(row.received_at));
    expect(iso(row.sent)).toBe(ahead.toISOString());
    expect(answer.clockSkew).toMatchObject({ collectedAt: ahead.toISOString(), storedAs: iso(row.received_at) });
    expect(answer.clockSkew!.aheadSeconds).toBeGreaterThan(399 * 86_400);
    expect(answer.clockSkew!.message).toMatch(/^esx-ahead's clock is 9[56]\d\d h \d+ min ahead of the catalog's/);

    const bundle = await catalog.request(`/v1/volumes/${DEFAULTS.vmfsUuid}/restore-bundle`);
    expect(bundle.status).toBe(200);
    await bundle.arrayBuffer();
    const host = (await json('/v1/hosts/esx-ahead')) as { hoursSinceLastCapture: number };
    expect(host.hoursSinceLastCapture).toBeGreaterThanOrEqual(0);
    const { events } = (await json('/v1/events?type=clock-skew&status=open')) as {
      events: Array<{ host: string; severity: string; message: string; details: Record<string, unknown> }>;
    };
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ host: 'esx-ahead', severity: 'warning', details: { captureId: answer.captureId, collectedAt: ahead.toISOString() } });
    expect(events[0].message).toMatch(/^the clock of esx-ahead is 9[56]\d\d h/);

    // The manifest keeps what the collector sent; rebuild applies the rule again.
    const manifest = await decodeManifest((await catalog.services.store.getBytes(answer.manifestKey))!, chunkListReader(catalog.services.store));
    expect(manifest.collectedAt).toBe(ahead.toISOString());
    const times = () => queryRows(catalog.services.db, sql`SELECT id, collected_at, received_at FROM captures ORDER BY id`);
    const artifactTimes = () => queryRows(catalog.services.db, sql`SELECT id, collected_at FROM artifacts ORDER BY id`);
    const before = [await times(), await artifactTimes()];
    await catalog.services.db.execute(
      sql.raw('TRUNCATE hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events RESTART IDENTITY'),
    );
    expect(await rebuildCatalog(catalog.services)).toMatchObject({ captures: 1, errors: [] });
    expect([await times(), await artifactTimes()]).toEqual(before);
  });

  it('is resolved by a capture with a right clock; a few minutes ahead is taken as sent', async () => {
    await ingest(catalog, {
      host: 'esx-ahead',
      collectedAt: new Date(Date.now() + 400 * DAY),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header }],
    });
    expect((await json('/v1/events?type=clock-skew&status=open')).events).toHaveLength(1);
    const near = new Date(Date.now() + 5 * 60_000);
    const answer = await ingest(catalog, {
      host: 'esx-ahead',
      collectedAt: near,
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header }],
    });
    expect(answer.clockSkew).toBeUndefined();
    const [row] = await queryRows<{ collected_at: unknown }>(catalog.services.db, sql`SELECT collected_at FROM captures WHERE id = ${answer.captureId}`);
    expect(iso(row.collected_at)).toBe(near.toISOString());
    expect((await json('/v1/events?type=clock-skew&status=open')).events).toHaveLength(0);
  });
});
