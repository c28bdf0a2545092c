/**
 * WEBHOOK_URL=https://user:pass@receiver/…, the usual way to reach a receiver behind Basic
 * auth: fetch refuses a URL that holds credentials, so every delivery failed as "not
 * delivered: TypeError" and was retried until its tries ran out, the receiver never called.
 * The credentials now travel as `Authorization: Basic …` to the URL without them, and the log
 * of a failed delivery still names no credential.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliverDue, deliveriesSettled, webhookTarget } from '../../api/events/webhook.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, HOUR, T0, extent1Dump } from '../api/read-side-seed.js';

it.each([
  ['https://hooks.example/x', 'https://hooks.example/x', null],
  ['https://alert%20bot:p%40ss@hooks.example/x?k=1', 'https://hooks.example/x?k=1', 'alert bot:p@ss'],
  ['http://only-user@127.0.0.1:9/h', 'http://127.0.0.1:9/h', 'only-user:'],
  ['http://u:50%@127.0.0.1:9/h', 'http://127.0.0.1:9/h', 'u:50%'],
])('webhookTarget(%s)', (given, url, credentials) => {
  const target = webhookTarget(given);
  expect(target.url).toBe(url);
  expect(target.authorization).toBe(credentials === null ? null : `Basic ${Buffer.from(credentials).toString('base64')}`);
});

const received: Array<{ url: string; headers: IncomingMessage['headers'] }> = [];
const receiver = createServer((req, res) => {
  received.push({ url: req.url ?? '', headers: req.headers });
  req.resume();
  req.on('end', () => {
    res.statusCode = req.headers.authorization === `Basic ${Buffer.from('alert bot:s3cret-pw').toString('base64')}` ? 204 : 401;
    res.end();
  });
});
let catalog: TestCatalog;
const logged: string[] = [];

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const { port } = receiver.address() as AddressInfo;
  catalog = await startTestCatalog('embedded', {
    now: () => new Date(T0.getTime() + 24 * HOUR),
    env: { WEBHOOK_URL: `http://alert%20bot:s3cret-pw@127.0.0.1:${port}/hook?source=vrc` },
  });
  const warn = catalog.services.logger.warn.bind(catalog.services.logger);
  catalog.services.logger.warn = (msg: string, fields?: Record<string, unknown>) => {
    logged.push(`${msg} ${JSON.stringify(fields ?? {})}`);
    warn(msg, fields);
  };
});
afterAll(async () => {
  await catalog?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

it('delivers an event to the receiver with Basic auth', async () => {
  // LUN 3, then re-presented as LUN 9: lun-id-changed, one delivery.
  for (const [hours, lun] of [
    [0, EXTENT1.lun],
    [1, 9],
  ]) {
    const bytes = extent1Dump({ lun });
    const artifact = { kind: 'vmfs-header' as const, fileName: `${EXTENT1.deviceId}.hex`, device: EXTENT1.deviceId, bytes };
    await ingest(catalog, { host: 'esx01', collectedAt: new Date(T0.getTime() + hours * HOUR), artifacts: [artifact] });
  }
  await deliveriesSettled(catalog.services);
  await deliverDue(catalog.services);
  expect(received.length).toBeGreaterThan(0);
  expect(received[0].url).toBe('/hook?source=vrc');
  expect(received[0].headers['x-catalog-event']).toBe('event.raised');
  expect(received.map((r) => r.headers.authorization)).not.toContain(undefined);
  expect(logged.filter((l) => l.includes('webhook'))).toEqual([]);
  expect(logged.join('\n')).not.toContain('s3cret-pw');
});
