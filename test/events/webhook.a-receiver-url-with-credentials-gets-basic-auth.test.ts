/**
 * WEBHOOK_URL=https://user:pass@receiver/…, the usual way to reach a receiver behind Basic
 * auth: fetch refuses a URL that holds credentials, so every delivery failed as "not
 * delivered: TypeError" and was retried until its tries ran out, the receiver never called.
 * The credentials now travel as `Authorization: Basic …` to the URL without them. A delivery
 * that fails — the receiver answers 401 or 500, or refuses the connection — is logged and kept
 * with its error, and neither the log lines nor the outbox, event and audit rows hold the
 * password or the user:password@ address.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../db/client.js';
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

/** Two captures of one extent, LUN 3 then re-presented as LUN 9: lun-id-changed, one delivery. */
async function raiseLunChanged(catalog: TestCatalog): Promise<void> {
  for (const [hours, lun] of [
    [0, EXTENT1.lun],
    [1, 9],
  ]) {
    const bytes = extent1Dump({ lun });
    const artifact = { kind: 'vmfs-header' as const, fileName: `${EXTENT1.deviceId}.hex`, device: EXTENT1.deviceId, bytes };
    await ingest(catalog, { host: 'esx01', collectedAt: new Date(T0.getTime() + hours * HOUR), artifacts: [artifact] });
  }
}

/** Listens on a random port of 127.0.0.1 and returns it. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** A catalog whose WEBHOOK_URL holds Basic credentials and names port `port` of 127.0.0.1. */
function catalogPostingTo(port: number): Promise<TestCatalog> {
  return startTestCatalog('embedded', {
    now: () => new Date(T0.getTime() + 24 * HOUR),
    env: { WEBHOOK_URL: `http://alert%20bot:s3cret-pw@127.0.0.1:${port}/hook?source=vrc` },
  });
}

/** Every line the catalog logs, at any level, as `msg {fields}`. */
function captureLog(catalog: TestCatalog): string[] {
  const lines: string[] = [];
  const logger = catalog.services.logger;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    const write = logger[level].bind(logger);
    logger[level] = (msg: string, fields?: Record<string, unknown>) => {
      lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
      write(msg, fields);
    };
  }
  return lines;
}

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
let logged: string[] = [];

beforeAll(async () => {
  catalog = await catalogPostingTo(await listen(receiver));
  logged = captureLog(catalog);
});
afterAll(async () => {
  await catalog?.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

it('delivers an event to the receiver with Basic auth', async () => {
  await raiseLunChanged(catalog);
  await deliveriesSettled(catalog.services);
  await deliverDue(catalog.services);
  expect(received.length).toBeGreaterThan(0);
  expect(received[0].url).toBe('/hook?source=vrc');
  expect(received[0].headers['x-catalog-event']).toBe('event.raised');
  expect(received.map((r) => r.headers.authorization)).not.toContain(undefined);
  expect(logged.filter((l) => l.includes('webhook'))).toEqual([]);
  expect(logged.join('\n')).not.toContain('s3cret-pw');
});

describe.each([
  ['answers 401', 401],
  ['answers 500', 500],
  ['refuses the connection', null],
])('a receiver that %s', (_, status) => {
  const refusing = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = status ?? 500;
      res.end('{"error":"no"}');
    });
  });
  let failing: TestCatalog;
  let failingLog: string[] = [];

  beforeAll(async () => {
    const port = await listen(refusing);
    // Refused: the port is closed again before the catalog sends anything.
    if (status === null) await new Promise<void>((r) => refusing.close(() => r()));
    failing = await catalogPostingTo(port);
    failingLog = captureLog(failing);
  });
  afterAll(async () => {
    await failing?.close();
    if (refusing.listening) await new Promise<void>((r) => refusing.close(() => r()));
  });

  it('logs and keeps the failure without the password or the user:password@ address', async () => {
    await raiseLunChanged(failing);
    await deliveriesSettled(failing.services);
    const db = failing.services.db;
    const [outbox] = await queryRows<Record<string, unknown>>(db, sql`SELECT * FROM webhook_outbox ORDER BY id`);
    expect(outbox.delivered_at).toBeNull();
    expect(outbox.last_error).toBe(status === null ? 'not delivered: TypeError (ECONNREFUSED)' : `the receiver answered ${status}`);
    expect(failingLog.filter((l) => l.startsWith('webhook delivery failed'))).toHaveLength(1);

    const kept = [
      ...failingLog,
      ...(await queryRows(db, sql`SELECT * FROM webhook_outbox`)),
      ...(await queryRows(db, sql`SELECT * FROM events`)),
      ...(await queryRows(db, sql`SELECT * FROM audit`)),
    ]
      .map((row) => JSON.stringify(row))
      .join('\n');
    for (const secret of ['s3cret-pw', 'alert%20bot:', 'alert bot:', Buffer.from('alert bot:s3cret-pw').toString('base64')]) {
      expect(kept).not.toContain(secret);
    }
  });
});
