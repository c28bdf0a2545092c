/**
 * NUL and other control bytes in a path or query parameter are refused with 400 in the
 * one error shape (the database refuses NUL in text, so they used to end in a 500); so is
 * a percent-escape that does not decode. Host and file names with them are refused at begin.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, prepareCapture } from '../helpers/ingest-client.js';

describeEachFlavour('errors: NUL and control bytes in requests', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await ingest(catalog, {
      host: 'esx01',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  async function expect400(path: string, init: RequestInit = {}) {
    const res = await catalog.request(path, init);
    const text = await res.text();
    expect(res.status, `${path}: ${text}`).toBe(400);
    const body = JSON.parse(text) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    return body.error.message;
  }

  it('refuses them in path segments and query values, and bad percent-escapes', async () => {
    expect(await expect400('/v1/hosts/esx%0001')).toMatch(/path holds a NUL or control character/);
    await expect400('/v1/hosts/esx%1b01');
    await expect400('/v1/hosts/esx%7f');
    await expect400('/v1/hosts/%C2%85');
    expect(await expect400('/v1/search?q=a%00b')).toMatch(/query parameter "q"/);
    await expect400('/v1/search?q=%0Aadmin');
    await expect400('/v1/search?q=%ZZ');
    await expect400('/v1/hosts/%E0%A4%A');
  });

  it('still answers the same requests without them', async () => {
    expect((await catalog.request('/v1/hosts/esx01')).status).toBe(200);
    expect((await catalog.request('/v1/search?q=tank')).status).toBe(200);
    // Non-ASCII text is not a control byte.
    expect((await catalog.request(`/v1/search?q=${encodeURIComponent('données')}`)).status).toBe(200);
  });

  it('refuses them in host and file names at begin, before anything is stored', async () => {
    for (const [host, fileName] of [
      ['esx\u000001', 'a.txt'],
      ['esx01', 'a\u0000.txt'],
      ['esx01', 'a\u001b.txt'],
    ]) {
      const { request } = prepareCapture({ host, artifacts: [{ kind: 'unknown', fileName, bytes: new Uint8Array([1]) }] });
      const message = await expect400('/v1/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
      expect(message).toMatch(/limit (hostNameBytes|fileNameBytes)/);
    }
  });
});
