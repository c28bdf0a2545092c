/**
 * The console's pages in chromium, as an admin and an operator: search by upper-case NAA
 * and by `vml.…:1`, grouped results, the volume page, an artifact download checked against
 * the SHA-256 the page shows, a bundle and the DR plan as of an earlier capture, acknowledging an event,
 * creating and revoking a token, sign-out; the same on a phone-sized screen. Every page is
 * screenshotted (.tmp/console-screens/) and checked with axe-core.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENT1, PROD, vmlOf } from '../api/read-side-seed.js';
import { tokenFor } from '../api/read-side-seed.js';
import { begin, prepareCapture } from '../helpers/ingest-client.js';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { RANKED_NAMES } from '../../api/read/search.js';
import { freshPage, noBrowser, screenAndCheck, sha256, signIn, startRig, verifyBundle, type ConsoleRig } from './harness.js';

describe.skipIf(noBrowser !== null)('the web console in a real browser', () => {
  let rig: ConsoleRig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.close());

  it('signs in, searches by upper-case NAA and by vml.…:1, shows the volume, downloads an artifact and an earlier bundle', async () => {
    const { page, context, external } = await freshPage(rig);
    const url = rig.catalog.url;
    await page.goto(`${url}/volumes/${PROD.vmfsUuid}`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await screenAndCheck(page, '01-sign-in');
    await page.fill('#token', rig.catalog.adminToken);
    await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
    // Back where the operator was going.
    expect(new URL(page.url()).pathname).toBe(`/volumes/${PROD.vmfsUuid}`);

    await page.goto(`${url}/`);
    await screenAndCheck(page, '02-landing');

    // Upper-case NAA: one volume → straight to its page.
    await page.fill('#q', EXTENT1.deviceId.toUpperCase());
    await Promise.all([page.waitForURL(/\/volumes\//), page.press('#q', 'Enter')]);
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);
    await screenAndCheck(page, '03-volume');
    expect(await page.textContent('h1')).toContain(PROD.label);
    expect(await page.locator('svg.timeline').getAttribute('data-changes')).toBe('1');
    expect(await page.locator('#open-events + .table-wrap, #open-events ~ div').first().textContent()).toContain('lun-id-changed');

    // vml.…:1 as /vmfs/devices/disks lists it, from the header's search box.
    await page.fill('#header-q', `${vmlOf(EXTENT1.deviceId, EXTENT1.lun)}:1`);
    await Promise.all([page.waitForURL(/\/volumes\//), page.press('#header-q', 'Enter')]);
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);

    // A fragment: results grouped by type, with how the query was read.
    await page.fill('#header-q', 'prod');
    await Promise.all([page.waitForURL(/\/search\?q=prod/), page.press('#header-q', 'Enter')]);
    expect(await page.textContent('#understood')).toContain('text');
    const groups = await page.$$eval('section[data-group]', (s) => s.map((e) => (e as HTMLElement).dataset.group));
    expect(groups).toContain('volume');
    expect(groups).toContain('target');
    await screenAndCheck(page, '04-search-results');

    // An artifact: the bytes on disk hash to the SHA-256 the page shows.
    await page.goto(`${url}/volumes/${PROD.vmfsUuid}`);
    const link = page.locator(`a[data-artifact]`, { hasText: 'prod-datastore-01.vh.sf' });
    const row = link.locator('xpath=ancestor::tr');
    const shown = (await row.locator('code').first().textContent())!.trim();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = join(rig.downloads, download.suggestedFilename());
    await download.saveAs(file);
    expect(download.suggestedFilename()).toBe('prod-datastore-01.vh.sf');
    expect(sha256(readFileSync(file))).toBe(shown);

    // A bundle as of the first capture (before the LUN changed).
    const options = await page.$$eval('#as-of option', (o) => o.map((e) => (e as HTMLOptionElement).value));
    await page.selectOption('#as-of', options[options.length - 1]);
    const [bundle] = await Promise.all([page.waitForEvent('download'), page.click('text=Download bundle as of then')]);
    const tgz = join(rig.downloads, `asof-${bundle.suggestedFilename()}`);
    await bundle.saveAs(tgz);
    expect((await verifyBundle(tgz, join(rig.downloads, 'asof'))).length).toBeGreaterThan(2);

    // The DR plan text, through the same session.
    await Promise.all([page.waitForNavigation(), page.click('text=DR plan (text)')]);
    expect(await page.textContent('body')).toContain(`DR plan for ${PROD.vmfsUuid} (${PROD.label})`);
    expect(await page.textContent('body')).not.toContain(' as of ');

    // The DR plan as of the first capture, from the same form as the bundle (README: the volume page shows it).
    await page.goto(`${url}/volumes/${PROD.vmfsUuid}`);
    const first = options[options.length - 1];
    await page.selectOption('#as-of', first);
    await Promise.all([page.waitForNavigation(), page.click('text=DR plan as of then')]);
    const asOf = new URL(page.url());
    expect(asOf.pathname).toBe(`/v1/volumes/${PROD.vmfsUuid}/dr-plan`);
    expect(Object.fromEntries(asOf.searchParams)).toEqual({ at: first, format: 'text' });
    expect(await page.textContent('body')).toContain(`DR plan for ${PROD.vmfsUuid} (${PROD.label}) as of ${first}`);

    await page.goto(`${url}/luns/${EXTENT1.deviceId}`);
    await screenAndCheck(page, '05-device');
    await page.goto(`${url}/hosts`);
    await screenAndCheck(page, '06-hosts');
    await page.click('text=sol01');
    expect(await page.textContent('h1')).toBe('Host sol01');
    await screenAndCheck(page, '07-host');
    expect(external).toEqual([]);
    await context.close();
  });

  it('acknowledges an event with a note (open events first)', async () => {
    const { page, context } = await freshPage(rig);
    await signIn(page, rig.catalog.url, await tokenFor(rig.catalog, 'operator'));
    await page.goto(`${rig.catalog.url}/events`);
    await screenAndCheck(page, '08-events');
    const open = page.locator('#open-h + .table-wrap tr[id^=event-]');
    expect(await open.count()).toBeGreaterThan(0);
    const id = (await open.first().getAttribute('id'))!.slice('event-'.length);
    await page.fill(`#note-${id}`, 'LUN renumbered on purpose during the SAN move');
    await Promise.all([page.waitForNavigation(), page.click(`#event-${id} button`)]);
    expect(await page.locator(`#event-${id}`).count()).toBe(0);
    // Another (a host-stale warning, as the events scan raises it), acknowledged over the API with the bootstrap admin token (no row in tokens).
    const [{ id: other }] = await queryRows<{ id: number }>(
      rig.catalog.services.db,
      sql`INSERT INTO events (type, severity, host, message, condition, created_at)
          VALUES ('host-stale', 'warning', 'esx09', 'No capture from esx09 for 40 h', 'host-stale:esx09', now()) RETURNING id`,
    );
    expect((await rig.catalog.request(`/v1/events/${other}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(
      200,
    );
    await page.goto(`${rig.catalog.url}/events?state=all`);
    const api = (await (await rig.catalog.request(`/v1/events?acknowledged=true`)).json()) as {
      events: Array<{ id: number; ackNote: string; acknowledgedBy: string }>;
    };
    const acked = api.events.find((e) => e.id === Number(id))!;
    expect(acked.ackNote).toBe('LUN renumbered on purpose during the SAN move');
    // Who acknowledged it, where the page shows the acknowledgement: the token's name and id, then the note.
    expect((await page.textContent(`#event-${id}`))!.replace(/\s+/g, ' ')).toMatch(
      new RegExp(
        `acknowledged \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC by “operator-test” \\(token ${acked.acknowledgedBy}\\): “?LUN renumbered on purpose during the SAN move”?`,
      ),
    );
    expect(await page.textContent(`#event-${other}`)).toContain('by the bootstrap admin token');
    await screenAndCheck(page, '09-events-all');
    await context.close();
  });

  it('creates a collector token (secret shown once, with its config line), revokes it, and signs out', async () => {
    const { page, context } = await freshPage(rig);
    const url = rig.catalog.url;
    await signIn(page, url, rig.catalog.adminToken);
    await page.goto(`${url}/tokens`);
    await page.fill('#t-name', 'esx03 cron');
    await page.selectOption('#t-role', 'collector');
    await page.fill('#t-host', 'esx03');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/tokens"] button')]);
    const secret = (await page.textContent('#new-secret'))!.trim();
    const config = JSON.parse((await page.textContent('#collector-config'))!) as Record<string, string>;
    expect(config).toEqual({ catalogUrl: url, token: secret, host: 'esx03' });
    await screenAndCheck(page, '10-tokens-created');
    // The secret works for the collector's begin call (it is a collector token for esx03).
    const hosts = await rig.catalog.request('/v1/hosts', { token: secret });
    expect(hosts.status).toBe(403);
    // Shown once: the list page does not show it again.
    await page.goto(`${url}/tokens`);
    expect(await page.content()).not.toContain(secret);
    const row = page.locator('tr', { hasText: 'esx03 cron' });
    await Promise.all([page.waitForNavigation(), row.locator('button', { hasText: 'Revoke' }).click()]);
    expect(await page.locator('tr', { hasText: 'esx03 cron' }).textContent()).toContain('revoked');
    expect((await rig.catalog.request('/v1/hosts', { token: secret })).status).toBe(401);
    await screenAndCheck(page, '11-tokens');

    await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.goto(`${url}/tokens`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await context.close();
  });

  it("lists a host's open captures on its page", async () => {
    // A capture begun over the real protocol and not committed (its chunks never sent).
    const token = await tokenFor(rig.catalog, 'collector', 'esx01');
    const p = prepareCapture({ host: 'esx01', hostKind: 'esxi', artifacts: [{ kind: 'vmfs-undelete', fileName: 'open.tar', bytes: randomBytes(3000) }] });
    await begin(rig.catalog, p.request, token);
    const { page, context } = await freshPage(rig);
    await signIn(page, rig.catalog.url, rig.catalog.adminToken);
    await page.goto(`${rig.catalog.url}/hosts/esx01`);
    const table = page.locator('table', { has: page.locator('caption', { hasText: 'Open captures' }) });
    expect(await table.locator('tbody tr').count()).toBe(1);
    expect(await table.locator('tbody tr').first().textContent()).toContain(p.request.captureId);
    expect(await page.textContent('main')).toContain('DELETE /v1/captures/{id}');
    await screenAndCheck(page, '13-host-open-captures');
    await context.close();
  });

  it('says when a fragment starts a word of more names than a search ranks', async () => {
    // RANKED_NAMES + 1 labels starting 'capx-': the answer comes from the 1,000 shortest, and says so.
    await queryRows(
      rig.catalog.services.db,
      sql`INSERT INTO volumes (vmfs_uuid, label, version, first_seen, last_seen)
          SELECT '5a1c3e7f-2b4d6e80-91a2-' || lpad(to_hex(i), 12, '0'), 'capx-' || i, 'VMFS-6', now(), now()
            FROM generate_series(1, ${RANKED_NAMES + 1}) i`,
    );
    await queryRows(
      rig.catalog.services.db,
      sql`INSERT INTO volume_labels (vmfs_uuid, label, first_seen, last_seen) SELECT vmfs_uuid, label, first_seen, last_seen FROM volumes WHERE label LIKE 'capx-%'`,
    );
    const { page, context } = await freshPage(rig);
    await signIn(page, rig.catalog.url, rig.catalog.adminToken);
    await page.goto(`${rig.catalog.url}/search?q=capx`);
    expect(await page.textContent('#capped')).toContain('more names than a search ranks');
    await page.goto(`${rig.catalog.url}/search?q=capx-1000`);
    expect(await page.locator('#capped').count()).toBe(0);
    await context.close();
  });

  it('reads on a phone-sized screen', async () => {
    const { page, context } = await freshPage(rig, { width: 390, height: 844 });
    await signIn(page, rig.catalog.url, rig.catalog.adminToken);
    await page.goto(`${rig.catalog.url}/volumes/${PROD.vmfsUuid}`);
    // The page itself does not scroll sideways; wide tables scroll inside their box.
    const wider = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className}`)
        .slice(0, 5),
    );
    expect(wider, 'elements wider than the screen').toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), 'page width').toBeLessThanOrEqual(390);
    await screenAndCheck(page, '12-volume-phone');
    await context.close();
  });
});
