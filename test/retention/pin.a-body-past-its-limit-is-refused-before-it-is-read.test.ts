/**
 * PUT /v1/captures/{id}/pin takes a note of at most 500 characters. The app's shared body limit
 * holds POST, PATCH and DELETE only, so a pin's body of any size was read whole before the
 * note's check refused it — one stating gigabytes kept its connection and the catalog's memory
 * until it ended. Now a pin's body past PIN_BODY_MAX_BYTES is a 413 before it is read, the
 * answer going out while the rest of the body is still unsent, and a pin as meant still pins.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PIN_BODY_MAX_BYTES } from '../../api/routes/retention.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

/** The status line of the answer to a request that states `length` bytes of body and sends only its first byte. */
function statusForStatedLength(catalog: TestCatalog, path: string, length: number): Promise<string> {
  const { hostname, port } = new URL(catalog.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 10 s (got ${JSON.stringify(got)})`));
    }, 10_000);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const line = got.split('\r\n')[0];
      if (got.includes('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(line);
      }
    });
    socket.on('error', reject);
    socket.write(
      `PUT ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${catalog.adminToken}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{`,
    );
  });
}

describeEachFlavour('a pin body past its limit', (flavour) => {
  let catalog: TestCatalog;
  let captureId: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    const done = await ingest(catalog, {
      host: 'esx-pin',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
    captureId = done.captureId;
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('is a 413 with the JSON error shape (it was read whole, then a 400 for the note)', async () => {
    const res = await catalog.request(`/v1/captures/${captureId}/pin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'x'.repeat(PIN_BODY_MAX_BYTES * 4) }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toContain(String(PIN_BODY_MAX_BYTES));
  });

  it('is answered before the body it states (10 GB) is sent', async () => {
    expect(await statusForStatedLength(catalog, `/v1/captures/${captureId}/pin`, 10_000_000_000)).toBe('HTTP/1.1 413 Payload Too Large');
  });

  it('a pin with its note still pins', async () => {
    const res = await catalog.request(`/v1/captures/${captureId}/pin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'before the array firmware upgrade' }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { note: string }).note).toBe('before the array firmware upgrade');
  });
});
