/**
 * A damaged chunk that many captures share (the first MiB of a datastore's header dump, the
 * same every day and on every host that sees the LUN) raises one critical chunk-corrupt event
 * for its volume, naming the newest artifact and listing the others — not one per artifact
 * kept, which on a fleet's retained days would be hundreds of critical alerts for one fault.
 * Its webhook goes out when the check raises it, as a commit's events do, not at the next
 * events scan.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveriesSettled } from '../../api/events/webhook.js';
import { chunkKey } from '../../api/store/types.js';
import { events } from '../../db/schema.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, sha256Hex } from '../helpers/ingest-client.js';

describeEachFlavour('a shared damaged chunk is one event per volume', (flavour) => {
  let catalog: TestCatalog;
  const hooks: string[] = [];
  const receiver = createServer((req, res) => {
    hooks.push(String(req.headers['x-catalog-event']));
    req.resume();
    req.on('end', () => res.end());
  });
  beforeAll(async () => {
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const { port } = receiver.address() as AddressInfo;
    catalog = await startTestCatalog(flavour, { env: { WEBHOOK_URL: `http://127.0.0.1:${port}/hook` } });
  });
  afterAll(async () => {
    await catalog?.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it('three hosts, two days each: one event for the volume, listing all six artifacts', async () => {
    // A dump through the FS descriptor: its extent names the volume (docs/formats.md).
    const header = buildVmfsDisk();
    for (const day of [1, 2])
      for (const host of ['esx1', 'esx2', 'esx3'])
        await ingest(catalog, {
          host,
          hostKind: 'esxi',
          collectedAt: new Date(Date.UTC(2026, 10, day, 3)),
          artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header }],
        });
    const first = header.subarray(0, 1024 * 1024);
    const sha = sha256Hex(first);
    const bad = new Uint8Array(first);
    bad[200] ^= 0xff;
    await catalog.services.store.put(chunkKey(sha), bad);
    const r = (await (await catalog.request('/v1/admin/check?read_data_subset=100', { method: 'POST' })).json()) as {
      scrub: { corrupt: Array<{ sha256: string; artifacts: string[] }> };
    };
    expect(r.scrub.corrupt.map((c) => c.sha256)).toEqual([sha]);
    const held = r.scrub.corrupt[0].artifacts;
    expect(held).toHaveLength(6);
    const open = await catalog.services.db
      .select()
      .from(events)
      .where(and(eq(events.type, 'chunk-corrupt'), isNull(events.resolvedAt), sql`${events.details}->>'sha256' = ${sha}`));
    expect(open.map((e) => [e.vmfsUuid, e.severity])).toEqual([[DEFAULTS.vmfsUuid, 'critical']]);
    const details = open[0].details as { artifactCount: number; artifacts: string[] };
    expect(details.artifactCount).toBe(6);
    expect([...details.artifacts].sort()).toEqual([...held].sort());
    expect(open[0].message).toContain('(and 5 other artifacts holding it)');
    // Sent by the check itself: no events scan or maintenance pass ran.
    await deliveriesSettled(catalog.services);
    expect(hooks).toEqual(['event.raised']);
  });
});
