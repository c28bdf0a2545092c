/**
 * The collector configuration the tokens page shows for a new collector token names the
 * catalog as `catalogUrl`: PUBLIC_URL, else the address the console was opened on. Unset, on a
 * fresh install opened at the printed http://127.0.0.1:8787/, that is the loopback address —
 * which a storage host given the file tries on itself, every run spooling its capture. The
 * page says so next to it, names PUBLIC_URL (api/config.ts, README) and, when the catalog
 * listens on loopback only, HOST too. A catalogUrl other machines can reach gets no note.
 * In chromium, with axe-core on the page that shows the note.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type StartOptions, type TestCatalog } from '../helpers/catalog.js';
import { launchChromium, noBrowser, screenAndCheck, signIn } from './harness.js';

describe.skipIf(noBrowser !== null)('the catalogUrl of a new collector token', () => {
  let browser: Browser;
  const catalogs: TestCatalog[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    for (const c of catalogs) await c.close();
  });

  /** Creates a collector token for esx05 on a catalog started with `options`; the config shown and the note, if any. */
  async function createdOn(options: StartOptions, screen?: string): Promise<{ url: string; config: Record<string, string>; note: string | null }> {
    const catalog = await startTestCatalog('embedded', { listen: true, ...options });
    catalogs.push(catalog);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await signIn(page, catalog.url, catalog.adminToken);
      await page.goto(`${catalog.url}/tokens`);
      await page.fill('#t-name', 'esx05 cron');
      await page.selectOption('#t-role', 'collector');
      await page.fill('#t-host', 'esx05');
      await Promise.all([page.waitForNavigation(), page.click('form[action="/tokens"] button')]);
      const config = JSON.parse((await page.textContent('#collector-config'))!) as Record<string, string>;
      const note = (await page.locator('#catalog-url-note').count()) ? (await page.textContent('#catalog-url-note'))!.replace(/\s+/g, ' ').trim() : null;
      if (screen) await screenAndCheck(page, screen);
      return { url: catalog.url, config, note };
    } finally {
      await context.close();
    }
  }

  it('says the loopback address reaches no storage host, and to set PUBLIC_URL and HOST', async () => {
    // A fresh install: no PUBLIC_URL, listening on 127.0.0.1 (HOST's default).
    const { url, config, note } = await createdOn({ publicUrl: null }, '14-tokens-loopback-url');
    expect(config.catalogUrl).toBe(url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(note).toBe(
      `${url} is the catalog's loopback address: it reaches the catalog from this machine only, never from a storage host. ` +
        'PUBLIC_URL is not set: set PUBLIC_URL to the address the hosts reach (https://catalog.example:8787, say) and, as the catalog ' +
        'listens on loopback only, HOST=0.0.0.0 (or put a proxy in front), restart it, and write that address as catalogUrl in the file.',
    );
  });

  it('leaves HOST out when the catalog listens on every interface', async () => {
    const { note } = await createdOn({ publicUrl: null, env: { HOST: '0.0.0.0' } });
    expect(note).toMatch(/^http:\/\/127\.0\.0\.1:\d+ is the catalog's loopback address: .* PUBLIC_URL is not set: set PUBLIC_URL to the address/);
    expect(note).not.toContain('HOST');
  });

  it('says nothing when PUBLIC_URL names an address the hosts reach', async () => {
    const { config, note } = await createdOn({ publicUrl: 'https://catalog.example:8787' });
    expect(config.catalogUrl).toBe('https://catalog.example:8787');
    expect(note).toBeNull();
  });
});
