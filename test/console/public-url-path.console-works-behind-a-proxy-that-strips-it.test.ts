/**
 * PUBLIC_URL with a path (`http://proxy/vmfs-catalog`): a reverse proxy serves the catalog
 * there and strips the path before a request arrives. The console's links, forms and redirects
 * started at `/`, so through the proxy they reached the proxy's root (the start only warned).
 * Now every one of them goes under the path. In chromium, through a proxy that forwards only
 * `/vmfs-catalog/…` (stripped) and records anything else: sign in from a deep link, the
 * navigation, a search, the volume page with its stylesheet, the DR plan text and a download,
 * sign-out (a form and its redirect) — and nothing outside the path.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENT1, PROD, seedDatacenter } from '../api/read-side-seed.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { launchChromium, noBrowser } from './harness.js';
import type { Browser } from 'playwright-core';

const PREFIX = '/vmfs-catalog';

describe.skipIf(noBrowser !== null)('the console under a PUBLIC_URL path, behind a proxy that strips it', () => {
  let proxy: Server;
  let proxyUrl: string;
  let catalog: TestCatalog;
  let browser: Browser;
  /** Requests the proxy got outside PREFIX: each a link, form or redirect that left the catalog. */
  const outside: string[] = [];

  beforeAll(async () => {
    let upstream = '';
    proxy = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url !== PREFIX && !url.startsWith(`${PREFIX}/`) && !url.startsWith(`${PREFIX}?`)) {
        outside.push(url);
        res.writeHead(404).end('not the catalog');
        return;
      }
      const target = new URL(url.slice(PREFIX.length) || '/', upstream);
      const fwd = request(target, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      fwd.on('error', () => res.writeHead(502).end());
      req.pipe(fwd);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    catalog = await startTestCatalog('embedded', { listen: true, publicUrl: `${proxyUrl}${PREFIX}/` });
    upstream = catalog.url;
    await seedDatacenter(catalog);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await catalog?.close();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  it('signs in, navigates, searches, downloads and signs out without leaving the path', { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const base = `${proxyUrl}${PREFIX}`;

    // A deep link while signed out: to the sign-in page under the path, and back after it.
    await page.goto(`${base}/volumes/${PROD.vmfsUuid}`);
    expect(new URL(page.url()).pathname).toBe(`${PREFIX}/sign-in`);
    await page.fill('#token', catalog.adminToken);
    await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
    expect(new URL(page.url()).pathname).toBe(`${PREFIX}/volumes/${PROD.vmfsUuid}`);
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);
    // The stylesheet came through the path: the page is styled.
    expect(await page.evaluate(() => document.styleSheets.length)).toBeGreaterThan(0);
    expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).not.toBe('');

    // The DR plan text and an artifact download, links to the API under the path.
    const plan = await page.getAttribute('a[href$="dr-plan?format=text"]', 'href');
    expect(plan).toBe(`${PREFIX}/v1/volumes/${PROD.vmfsUuid}/dr-plan?format=text`);
    const planText = await (await page.request.get(`${proxyUrl}${plan}`)).text();
    expect(planText).toContain(`# DR plan for ${PROD.vmfsUuid}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-artifact]').first().click()]);
    expect(await download.failure()).toBeNull();

    // The navigation and the header's search box.
    await Promise.all([page.waitForNavigation(), page.click('nav a[href$="/hosts"]')]);
    expect(new URL(page.url()).pathname).toBe(`${PREFIX}/hosts`);
    await page.fill('#header-q', EXTENT1.deviceId);
    await Promise.all([page.waitForURL(/\/volumes\//), page.press('#header-q', 'Enter')]);
    expect(new URL(page.url()).pathname).toBe(`${PREFIX}/volumes/${PROD.vmfsUuid}`);

    // Sign-out: a form post and its redirect.
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/sign-out"] button')]);
    expect(new URL(page.url()).pathname).toBe(`${PREFIX}/sign-in`);

    // Nothing went outside the path: the icon too is the one each page links, under it.
    expect(outside).toEqual([]);
    await context.close();
  });
});
