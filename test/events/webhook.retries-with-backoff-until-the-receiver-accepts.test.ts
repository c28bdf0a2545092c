/**
 * WEBHOOK_URL: an event raised by a capture is POSTed to a real HTTP receiver on 127.0.0.1
 * that fails twice and then accepts. The commit answers while the receiver still holds the
 * first request; the retries wait out the backoff (30 s, then 60 s) on the catalog's injected
 * clock; every try carries the same body, delivery id and an HMAC-SHA256 signature of the
 * body the test recomputes with node:crypto.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '../../db/client.js';
import { deliverDue, deliveriesSettled } from '../../api/events/webhook.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, HOUR, T0, extent1Dump } from '../api/read-side-seed.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

const SECRET = 'webhook-secret-for-the-test-0123';

/** A receiver answering each request with the next status of `script` (the last one repeats); `hold` delays the first answer until released. */
function receiver(script: number[]) {
  const received: Received[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let arrived!: () => void;
  const firstArrived = new Promise<void>((r) => {
    arrived = r;
  });
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', async () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      const n = received.length;
      if (n === 1) {
        arrived();
        await released;
      }
      res.statusCode = script[Math.min(n, script.length) - 1];
      res.end();
    });
  });
  return { server, received, release, firstArrived };
}

describeEachFlavour('webhooks from the outbox', (flavour) => {
  let catalog: TestCatalog;
  let clock = new Date(T0.getTime() + 24 * HOUR);
  const hook = receiver([500, 500, 204]);

  beforeAll(async () => {
    await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', () => r()));
    const { port } = hook.server.address() as AddressInfo;
    catalog = await startTestCatalog(flavour, { now: () => clock, env: { WEBHOOK_URL: `http://127.0.0.1:${port}/hook`, WEBHOOK_SECRET: SECRET } });
  });
  afterAll(async () => {
    hook.release();
    await catalog?.close();
    await new Promise<void>((r) => hook.server.close(() => r()));
  });

  const outbox = async () => queryRows<Record<string, unknown>>(catalog.services.db, sql`SELECT * FROM webhook_outbox ORDER BY id`);
  const header = (collectedAt: Date, lun: number) =>
    ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt,
      artifacts: [{ kind: 'vmfs-header', fileName: `${EXTENT1.deviceId}.hex`, device: EXTENT1.deviceId, bytes: extent1Dump({ lun }) }],
    });

  it('a commit that raises an event answers while the receiver holds the delivery', async () => {
    await header(T0, EXTENT1.lun);
    expect(await outbox()).toEqual([]);
    // Re-presented as LUN 9: lun-id-changed. The commit returns; the receiver has not answered.
    const committed = await header(new Date(T0.getTime() + HOUR), 9);
    expect(committed.state).toBe('committed');
    await hook.firstArrived;
    expect(hook.received).toHaveLength(1);
    hook.release();
    await deliveriesSettled(catalog.services);
    const [row, ...rest] = await outbox();
    expect(rest).toEqual([]);
    expect(row).toMatchObject({ attempts: 1, last_status: 500, delivered_at: null });
    expect(new Date(String(row.next_attempt_at instanceof Date ? row.next_attempt_at.toISOString() : row.next_attempt_at)).getTime()).toBe(
      clock.getTime() + 30_000,
    );
  });

  it('retries after the backoff, not before, and stops once the receiver accepts', async () => {
    expect(await deliverDue(catalog.services)).toEqual({ delivered: 0, failed: 0 });
    expect(hook.received).toHaveLength(1);
    clock = new Date(clock.getTime() + 30_000);
    expect(await deliverDue(catalog.services)).toEqual({ delivered: 0, failed: 1 });
    expect(hook.received).toHaveLength(2);
    // The second failure doubles the wait: 59 s later nothing is due, 60 s later it is.
    clock = new Date(clock.getTime() + 59_000);
    expect(await deliverDue(catalog.services)).toEqual({ delivered: 0, failed: 0 });
    clock = new Date(clock.getTime() + 1_000);
    expect(await deliverDue(catalog.services)).toEqual({ delivered: 1, failed: 0 });
    expect(hook.received).toHaveLength(3);
    clock = new Date(clock.getTime() + 24 * HOUR);
    expect(await deliverDue(catalog.services)).toEqual({ delivered: 0, failed: 0 });
    const [row] = await outbox();
    expect(row).toMatchObject({ attempts: 3, last_status: 204, last_error: null });
    expect(row.delivered_at).not.toBeNull();
  });

  it('every try carries the same signed body naming the event', async () => {
    const [first] = hook.received;
    for (const r of hook.received) {
      expect(r.body).toBe(first.body);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-catalog-delivery']).toBe(first.headers['x-catalog-delivery']);
      expect(r.headers['x-catalog-event']).toBe('event.raised');
      expect(r.headers['x-catalog-signature-256']).toBe(`sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`);
    }
    const body = JSON.parse(first.body) as { type: string; event: { id: number; type: string; deviceId: string } };
    expect(body.type).toBe('event.raised');
    expect(body.event).toMatchObject({ type: 'lun-id-changed', deviceId: EXTENT1.deviceId });
    const listed = (await (await catalog.request('/v1/events?type=lun-id-changed')).json()) as { events: { id: number }[] };
    expect(listed.events.map((e) => e.id)).toEqual([body.event.id]);
  });
});
