/**
 * A NUL in a JSON body's text — a token's name (POST /v1/tokens, the console's Tokens form) or
 * a pin's note (PUT /v1/captures/{id}/pin) — reached PostgreSQL, which refuses NUL in text, and
 * came back `500 internal error` (sqlstate 22021). Paths, queries and an event's note were
 * already refused with 400; these are now too, naming the field. A pin's note may hold line
 * breaks, as an event's note does.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

describeEachFlavour('errors: a NUL in a body string', (flavour) => {
  let catalog: TestCatalog;
  let captureId = '';
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const done = await ingest(catalog, {
      host: 'esx01',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
    captureId = done.captureId;
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const json = (method: string, path: string, body: unknown) =>
    catalog.request(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  async function expect400(res: Response, field: string) {
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toBe(`invalid request: ${field}: holds a NUL or control character`);
  }

  it('a token name with a NUL or another control character is a 400 naming it, and no token is made', async () => {
    await expect400(await json('POST', '/v1/tokens', { role: 'operator', name: 'night\u0000shift' }), 'name');
    await expect400(await json('POST', '/v1/tokens', { role: 'operator', name: 'night\u001bshift' }), 'name');
    const list = (await (await catalog.request('/v1/tokens')).json()) as { tokens: { name: string }[] };
    expect(list.tokens.filter((t) => t.name.startsWith('night'))).toEqual([]);
  });

  it("a pin's note with a NUL is a 400 naming it; line breaks are kept", async () => {
    await expect400(await json('PUT', `/v1/captures/${captureId}/pin`, { note: 'before\u0000the swap' }), 'note');
    const ok = await json('PUT', `/v1/captures/${captureId}/pin`, { note: 'before the array swap\nticket 4711' });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { note: string }).note).toBe('before the array swap\nticket 4711');
  });
});
