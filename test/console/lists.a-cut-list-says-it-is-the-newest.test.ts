/**
 * The console's lists are cut at the read side's limits (a volume's newest 500 artifacts, a
 * host's newest 100 captures, the newest 200 events of each state), and each heading said the
 * count of what it showed: a host with a year of daily captures read 'Captures (100)', its
 * volume 'Artifacts (500)', 250 open events 'Open (200)' — all there is, to an admin at 3 a.m.,
 * with the timeline and the restore-as-of list silently starting months after the first
 * capture. A list that reached its limit now says '(the newest N; older ones not listed)', the
 * events page says to narrow the filter, and the volume page says how to ask for a bundle as
 * of an older capture. Lists under their limit keep '(N)'.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, PROD } from '../api/read-side-seed.js';
import { join } from 'node:path';
import { SCREENS, launchChromium, noBrowser, seedDailyCaptures, seriousA11yViolations, signIn } from './harness.js';

const DAYS = 365;
const OPEN_EVENTS = 250;

describe.skipIf(noBrowser !== null)('lists cut at their limit', () => {
  let catalog: TestCatalog;
  let browser: Browser;
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { listen: true });
    const db = await seedDailyCaptures(catalog, DAYS);
    await db.execute(sql`
      INSERT INTO events (type, severity, host, device_id, message, created_at)
      SELECT 'lun-id-changed', 'warning', 'esx10', ${EXTENT1.deviceId}, 'LUN ' || g || ' then ' || (g + 1), now() - make_interval(hours => ${OPEN_EVENTS} - g)
        FROM generate_series(1, ${OPEN_EVENTS}) g`);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await catalog?.close();
  });

  it('says which lists hold only the newest, and keeps the count of the others', { timeout: 180_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, catalog.url, catalog.adminToken);

    await page.goto(`${catalog.url}/volumes/${PROD.vmfsUuid}`);
    expect(await page.textContent('h2:has-text("Artifacts")')).toBe('Artifacts (the newest 500; older ones not listed)');
    expect(await page.textContent('figcaption summary')).toMatch(/^\s*The newest 250 captures as a list\s*$/);
    expect(await page.textContent('#older-captures')).toContain('?at=2026-01-31T02:00:00Z');
    // The top of the page: a full-page shot of 500 rows is the machine's time, not the console's.
    await page.screenshot({ path: join(SCREENS, 'lists-cut-volume.png') });

    await page.goto(`${catalog.url}/hosts/esx10`);
    expect(await page.textContent('h2:has-text("Captures")')).toBe('Captures (the newest 100; older ones not listed)');
    expect(await page.textContent('h2:has-text("Open events")')).toMatch(/^Open events \(\d+\)$/);

    await page.goto(`${catalog.url}/events`);
    expect(await page.textContent('#open-h')).toBe('Open (the newest 200; older ones not listed)');
    expect(await page.textContent('#events-cut')).toContain('narrow them by type, severity or host');
    await page.screenshot({ path: join(SCREENS, 'lists-cut-events.png') });
    expect(await seriousA11yViolations(page)).toEqual([]);

    // Lists under their limit keep their count, and say nothing more.
    await page.goto(`${catalog.url}/events?state=acknowledged`);
    expect(await page.textContent('#acked-h')).toBe('Acknowledged (0)');
    expect(await page.locator('#events-cut').count()).toBe(0);
    await context.close();
  });
});
