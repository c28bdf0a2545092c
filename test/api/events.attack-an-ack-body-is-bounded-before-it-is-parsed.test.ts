/**
 * POST /v1/events/{id}/ack takes a note of at most 2000 characters, and its body was held only
 * to the shared 64 MiB of POST bodies: an operator token's ack of 64 MiB of `{},` in a field
 * the route ignores (or a small gzip inflating to it) was parsed whole, twice, as a begin's was
 * (1.5 GB of heap, tens of seconds of the event loop each). Its body is now at most 16 KiB
 * (ACK_BODY_MAX_BYTES), as sent and as inflated: a 413 before anything is parsed.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACK_BODY_MAX_BYTES } from '../../api/routes/events.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

const body = (bytes: number) => `{"note":"done","extra":[${'{},'.repeat(Math.floor(bytes / 3))}{}]}`;

describeEachFlavour('POST /v1/events/{id}/ack: the body is bounded before it is parsed', (flavour) => {
  let catalog: TestCatalog;
  let operator: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    const res = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'operator', name: 'ops' }),
    });
    operator = ((await res.json()) as { token: string }).token;
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('answers 413 for 1 MiB of empty objects, sent plain or as a 4 KB gzip of 4 MiB', async () => {
    for (const [sent, headers] of [
      [body(1024 * 1024), {}],
      [gzipSync(body(4 * 1024 * 1024)), { 'content-encoding': 'gzip' }],
    ] as const) {
      const res = await catalog.request('/v1/events/1/ack', {
        method: 'POST',
        token: operator,
        headers: { 'content-type': 'application/json', ...headers },
        body: sent as BodyInit,
      });
      const text = await res.text();
      expect(res.status, text).toBe(413);
      expect(JSON.parse(text).error.code).toBe('payload_too_large');
    }
    // A note of 2000 characters, each escaped as JSON writes it at worst, fits.
    expect(JSON.stringify({ note: '\u0001'.repeat(2000) }).length).toBeLessThan(ACK_BODY_MAX_BYTES);
  });
});
