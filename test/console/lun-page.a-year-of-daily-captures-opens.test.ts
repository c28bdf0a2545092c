/**
 * A device's page, and its restore bundle, behind a year of one host's daily captures: legacy
 * 2 MiB header dumps (they end before the FS descriptor, so a dump's extent joins its volume
 * through the segment UUID) and the volume's `.vh.sf` copy each day. Reading which volumes sit
 * on the device joined every such dump with every `.vh.sf` segment row and checked each pair's
 * claim against every segment row: cubic in the days kept. With 365 days the page did not
 * answer for minutes, and the embedded catalog, whose database runs on its event loop, answered
 * nothing else meanwhile. Each distinct claim is now checked once.
 *
 * The captures are made the way the ingest path makes them (one through the protocol), the
 * other 364 days as copies of its rows a day apart. The browser's 30 s for a navigation is a
 * hang limit, orders of magnitude above the page's time (printed), not a speed assertion.
 */
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { queryRows } from '../../db/client.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, PROD } from '../api/read-side-seed.js';
import { launchChromium, noBrowser, screenAndCheck, seedDailyCaptures, signIn, verifyBundle } from './harness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const DAYS = 365;

describe.skipIf(noBrowser !== null)('a device seen daily for a year', () => {
  let catalog: TestCatalog;
  let browser: Browser;
  const downloads = mkdtempSync(join(tmpdir(), 'vrc-lun-year-'));
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { listen: true });
    const db = await seedDailyCaptures(catalog, DAYS);
    const [counts] = await queryRows<{ extents: number; segments: number }>(
      db,
      sql`SELECT (SELECT count(*)::int FROM extents WHERE device_id = ${EXTENT1.deviceId} AND vmfs_uuid IS NULL) AS extents, (SELECT count(*)::int FROM segments) AS segments`,
    );
    expect(counts).toEqual({ extents: DAYS, segments: DAYS });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await catalog?.close();
    rmSync(downloads, { recursive: true, force: true });
  });

  it('opens the device page from the volume page and downloads its restore bundle', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    await signIn(page, catalog.url, catalog.adminToken);
    await page.goto(`${catalog.url}/volumes/${PROD.vmfsUuid}`);
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);

    const started = performance.now();
    await Promise.all([page.waitForURL(/\/luns\//), page.click(`a[href="/luns/${EXTENT1.deviceId}"] >> nth=0`)]);
    const seconds = (performance.now() - started) / 1000;
    expect(await page.textContent('h1')).toContain(EXTENT1.deviceId);
    expect(await page.textContent('dl.facts')).toContain(PROD.vmfsUuid);
    console.log(`[lun page] device with ${DAYS} daily dumps and .vh.sf copies: ${seconds.toFixed(2)} s (embedded flavour)`);
    await screenAndCheck(page, 'lun-a-year-of-daily-captures');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#restore-bundle')]);
    const file = join(downloads, download.suggestedFilename());
    await download.saveAs(file);
    const verified = await verifyBundle(file, join(downloads, 'bundle'));
    expect(verified.some((f) => f.includes(EXTENT1.deviceId))).toBe(true);
    await context.close();
  });
});
