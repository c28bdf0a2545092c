/**
 * The passes after commits evaluate only what their captures changed; a reindex changes
 * rows without a commit, so it ends with a full pass (api/events/checks.ts reevaluateHealth).
 * Here the event a commit raised is missing — as after a pass that failed — and the reindex
 * raises it again, while a condition that holds no longer is resolved by it.
 * Conditions as in health.raised-and-resolved-by-captures-through-the-server.test.ts: an
 * extent on a Sun-OUI device (600144f…, docs/formats.md §3) that no captured LU presents.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { HOUR, T0, seedDatacenter } from '../api/read-side-seed.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

const NEW_DEVICE = 'naa.600144f0000000000000000000005555';
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);

describeEachFlavour('reindex and health events', (flavour) => {
  let catalog: TestCatalog;
  let clock = at(3);
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => clock });
    await seedDatacenter(catalog);
  });
  afterAll(async () => catalog?.close());

  const open = async (): Promise<Array<{ condition: string; resolvedAt: string | null }>> => {
    const res = await catalog.request('/v1/events?status=open&type=target-guid-mismatch');
    expect(res.status).toBe(200);
    return ((await res.json()) as { events: Array<{ condition: string; resolvedAt: string | null }> }).events;
  };

  it('a reindex raises a condition whose event went missing and resolves one that no longer holds', async () => {
    clock = at(24);
    await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: clock,
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: `${NEW_DEVICE}.hex`,
          sourcePath: `/vmfs/devices/disks/${NEW_DEVICE}`,
          device: NEW_DEVICE,
          bytes: buildVmfsDisk({
            lvmMajor: 5,
            vmfsUuid: '6a000001-00000002-0003-000c29000004',
            segmentUuid: '6a000000-00000002-0003-000c29000004',
            label: 'new-ds',
            deviceId: NEW_DEVICE,
            lun: 5,
            noiseSeed: 9,
          }),
        },
      ],
    });
    const condition = `target-guid-mismatch:extent:${NEW_DEVICE}`;
    expect((await open()).map((e) => e.condition)).toEqual([condition]);

    // The event is lost, and one for a condition that does not hold is left open.
    await catalog.services.db.execute(sql`DELETE FROM events WHERE condition = ${condition}`);
    const gone = 'naa.600144f0000000000000000000009999';
    await catalog.services.db.execute(
      sql`INSERT INTO events (type, severity, host, device_id, message, created_at, condition)
          VALUES ('target-guid-mismatch', 'warning', 'esx01', ${gone}, 'an extent no LU presents', ${at(20).toISOString()}, ${`target-guid-mismatch:extent:${gone}`})`,
    );
    expect((await open()).map((e) => e.condition)).toEqual([`target-guid-mismatch:extent:${gone}`]);

    clock = at(25);
    const res = await catalog.request('/v1/admin/reindex', { method: 'POST' });
    expect(res.status).toBe(200);
    expect((await open()).map((e) => e.condition)).toEqual([condition]);
  });
});
