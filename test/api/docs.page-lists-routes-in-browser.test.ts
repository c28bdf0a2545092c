/**
 * The /docs page, opened in a real browser (Debian chromium through playwright-core),
 * renders every route of /openapi.json.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { reportMissingService, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)`;
// Under CI a missing browser fails the run instead of skipping this file.
if (noBrowser) reportMissingService('[docs page test] not run', noBrowser);

describe.skipIf(noBrowser !== null)('GET /docs in a real browser', () => {
  let catalog: TestCatalog;
  let browser: Browser;
  let profile: string;

  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { listen: true });
    profile = mkdtempSync(join(tmpdir(), 'vrc-chromium-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await catalog?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it('lists every operation of /openapi.json, without a token and without external scripts', async () => {
    const spec = (await (await fetch(`${catalog.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const expected = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(expected).toContain('POST /v1/tokens');

    const page = await browser.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(catalog.url)) external.push(r.url());
    });
    await page.goto(`${catalog.url}/docs`);
    await page.waitForSelector('.route');
    const shown = await page.$$eval('.route', (els) => els.map((e) => (e as HTMLElement).dataset.route));
    expect(shown.sort()).toEqual(expected.sort());
    expect(external).toEqual([]);
    await page.screenshot({ path: join(profile, 'docs.png') });
  });
});
