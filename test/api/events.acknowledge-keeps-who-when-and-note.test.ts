/**
 * POST /v1/events/{id}/ack marks a drift event acknowledged with who (token id), when
 * (the catalog's clock) and a note; the list filters on it, a second ack keeps the first
 * time, and bad ids or notes are 4xx.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, HOUR, T0, extent1Dump, seedDatacenter, tokenFor } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}

describeEachFlavour('POST /v1/events/{id}/ack', (flavour) => {
  let catalog: TestCatalog;
  let clock = new Date('2026-10-05T12:00:00Z');
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => clock });
    await seedDatacenter(catalog);
    // Extent 1 re-presented as LUN 9: a lun-id-changed event.
    await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 24 * HOUR),
      artifacts: [{ kind: 'vmfs-header', fileName: `${EXTENT1.deviceId}.hex`, device: EXTENT1.deviceId, bytes: extent1Dump({ lun: 9 }) }],
    });
  });
  afterAll(async () => catalog?.close());

  const ack = (id: number | string, body?: unknown, token?: string) =>
    catalog.request(`/v1/events/${id}/ack`, {
      method: 'POST',
      token,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });

  it('acknowledges with the token, the time and the note; the open list no longer shows it', async () => {
    const open = (await (await catalog.request('/v1/events?acknowledged=false&type=lun-id-changed')).json()) as Json;
    const event = open.events[0];
    expect(event.acknowledged).toBe(false);
    expect(event.acknowledgedAt).toBeNull();
    const operator = await tokenFor(catalog, 'operator');
    const res = await ack(event.id, { note: '  LUN renumbered on purpose\nduring the SAN move ' }, operator);
    expect(res.status).toBe(200);
    const acked = (await res.json()) as Json;
    expect(acked).toMatchObject({
      id: event.id,
      acknowledged: true,
      acknowledgedAt: clock.toISOString(),
      ackNote: 'LUN renumbered on purpose\nduring the SAN move',
    });
    const tokens = (await (await catalog.request('/v1/tokens')).json()) as Json;
    expect(acked.acknowledgedBy).toBe(tokens.tokens.find((t: Json) => t.role === 'operator').id);
    const still = (await (await catalog.request('/v1/events?acknowledged=false&type=lun-id-changed')).json()) as Json;
    expect(still.events.map((e: Json) => e.id)).not.toContain(event.id);

    // Again, later, without a note: first time, token and note stay.
    clock = new Date(clock.getTime() + HOUR);
    const again = (await (await ack(event.id)).json()) as Json;
    expect(again).toMatchObject({ acknowledgedAt: acked.acknowledgedAt, acknowledgedBy: acked.acknowledgedBy, ackNote: acked.ackNote });
  });

  it('answers 404 for an unknown event and 400 for a bad id or a note with control bytes', async () => {
    expect((await ack(999999, {})).status).toBe(404);
    expect((await ack('abc', {})).status).toBe(400);
    const bad = await ack(1, { note: 'x\u0000y' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.code).toBe('bad_request');
  });
});
