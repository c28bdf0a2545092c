/**
 * Browsers ask for /favicon.ico on every console page; the catalog answered it 404 (the console's
 * not-found page to a browser), a failed request in every page's log. It now answers a small
 * SVG icon, cached for a day, without a session, and each page links it, so a catalog under
 * PUBLIC_URL's path has it too.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

describeEachFlavour('the favicon', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => catalog?.close());

  it('is an SVG image a browser keeps, asked without a session', async () => {
    const res = await catalog.request('/favicon.ico', {
      token: null,
      headers: { accept: 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=[1-9]\d*$/);
    const body = await res.text();
    expect(body).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 16 16">/);
    expect(body).not.toMatch(/<script|on\w+=/i);
    expect(Buffer.byteLength(body)).toBeLessThan(1024);
  });

  it('is linked from the pages', async () => {
    const page = await (await catalog.request('/sign-in', { token: null, headers: { accept: 'text/html' } })).text();
    expect(page).toContain('<link rel="icon" type="image/svg+xml" href="/favicon.ico"/>');
  });
});
