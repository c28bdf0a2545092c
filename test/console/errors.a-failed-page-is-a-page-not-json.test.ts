/**
 * A console page that failed answered the browser with the API's JSON error body: with the
 * database out of reach (a PostgreSQL restart, a network cut) every page showed
 * `{"error":{"code":"service_unavailable",…}}` as raw text, a 500 the same with 'internal
 * error', and a search holding a NUL the 400. Now a browser outside /v1 gets a page in the
 * console's frame with the same status: a 503 says the database or store is out of reach and
 * when to reload (Retry-After), a 500 the request id the log names the cause under, a 4xx its
 * message. API clients, and every /v1 path, keep the JSON error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestCatalog, type TestCatalog, withDatabaseFailing } from '../helpers/catalog.js';
import { launchChromium, noBrowser, screenAndCheck, signIn } from './harness.js';

const VOLUME = '5a1c3e7f-2b4d6e80-91a2-0050569a1b2c';

describe.skipIf(noBrowser !== null)('a console page that fails, in a browser', () => {
  let catalog: TestCatalog;
  let browser: Browser;
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { listen: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await catalog?.close();
  });

  it('shows the database being out of reach, an internal error and a refused search as pages', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, catalog.url, catalog.adminToken);

    // The database out of reach: a connection refused.
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await withDatabaseFailing(catalog, refused, async () => {
      const r = await page.goto(`${catalog.url}/volumes/${VOLUME}`);
      expect(r!.status()).toBe(503);
      expect(r!.headers()['content-type']).toMatch(/^text\/html/);
      expect(r!.headers()['retry-after']).toBe('30');
      expect(r!.headers()['content-security-policy']).toContain("default-src 'none'");
      expect(await page.textContent('h1')).toBe('Catalog unavailable');
      const says = await page.textContent('[role=alert]');
      expect(says).toContain('cannot reach its database or its store right now: reload this page in 30 seconds');
      expect(says).toContain(`request id ${r!.headers()['x-request-id']}`);
      await screenAndCheck(page, 'error-503-database-unreachable');

      // An API client asking for the same page, and the browser asking the API, keep JSON.
      const cookie = (await context.cookies()).map((k) => `${k.name}=${k.value}`).join('; ');
      const api = await fetch(`${catalog.url}/volumes/${VOLUME}`, { headers: { accept: 'application/json', cookie } });
      expect([api.status, api.headers.get('content-type')]).toEqual([503, 'application/json']);
      expect(((await api.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
      const v1 = await page.goto(`${catalog.url}/v1/volumes/${VOLUME}`);
      expect(v1!.headers()['content-type']).toMatch(/^application\/json/);
    });

    // An internal error names the request id the log has the cause under.
    await withDatabaseFailing(catalog, new Error('something unexpected'), async () => {
      const r = await page.goto(`${catalog.url}/hosts`);
      expect(r!.status()).toBe(500);
      expect(await page.textContent('h1')).toBe('Catalog error');
      const says = await page.textContent('[role=alert]');
      expect(says).toBe(`The catalog failed to answer this page (internal error). Its log names the cause under request id ${r!.headers()['x-request-id']}.`);
      expect(says).not.toContain('something unexpected');
      await screenAndCheck(page, 'error-500-internal');
    });

    // A search the URL check refuses, signed in: its message, the header's search box to try again.
    const r = await page.goto(`${catalog.url}/search?q=prod%00`);
    expect(r!.status()).toBe(400);
    expect(await page.textContent('[role=alert]')).toBe('query parameter "q" holds a NUL or control character');
    expect(await page.locator('#header-q').count()).toBe(1);
    await screenAndCheck(page, 'error-400-search');
    await context.close();
  });
});
