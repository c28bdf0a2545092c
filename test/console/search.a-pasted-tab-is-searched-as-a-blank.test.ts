/**
 * A search box keeps a pasted tab (browsers strip only CR and LF from a one-line input), and
 * an admin copies ids out of tab-separated lines: a column of `zfs list -H`, a spreadsheet
 * cell. The console's search with a tab in it answered the browser with the app's JSON 400
 * ('query parameter "q" holds a NUL or control character') instead of the volume. Now the
 * console searches it with each tab, CR, LF, VT or FF as a blank; any other control character,
 * and the API's own search, are refused as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENT1, PROD } from '../api/read-side-seed.js';
import { freshPage, noBrowser, screenAndCheck, signIn, startRig, type ConsoleRig } from './harness.js';

describe.skipIf(noBrowser !== null)('a search pasted with a tab', () => {
  let rig: ConsoleRig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.close());

  it('finds the volume from the landing box and the header box, and shows a fragment’s results', async () => {
    const { page, context } = await freshPage(rig);
    const url = rig.catalog.url;
    await signIn(page, url, rig.catalog.adminToken);

    // The VMFS UUID as the first column of a tab-separated line, pasted into the landing box.
    await page.focus('#q');
    await page.keyboard.insertText(`${PROD.vmfsUuid}\t${PROD.label}`);
    expect(await page.inputValue('#q')).toContain('\t');
    await Promise.all([page.waitForURL(/\/search\?q=/), page.keyboard.press('Enter')]);
    // Two words: a text search, answered as a page.
    expect(await page.title()).toMatch(/^Search: /);

    await page.fill('#header-q', '');
    await page.focus('#header-q');
    await page.keyboard.insertText(`\t${PROD.vmfsUuid}\t`);
    await Promise.all([page.waitForURL(/\/volumes\//), page.keyboard.press('Enter')]);
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);

    // An upper-case NAA with the tab a spreadsheet cell ends in. It leads to the volume page
    // this one already is, so waitForURL would be met at once: the new document is waited for.
    await page.focus('#header-q');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(`${EXTENT1.deviceId.toUpperCase()}\t`);
    await Promise.all([page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame() }), page.keyboard.press('Enter')]);
    await page.waitForLoadState('domcontentloaded');
    expect(page.url()).toMatch(/\/volumes\//);
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);
    expect(await page.inputValue('#header-q')).toBe(`${EXTENT1.deviceId.toUpperCase()} `);
    await screenAndCheck(page, 'search-pasted-tab');
    await context.close();
  });

  it('still refuses a NUL or another control character, and the API search keeps its 400', async () => {
    const cookie = await (async () => {
      const { page, context } = await freshPage(rig);
      await signIn(page, rig.catalog.url, rig.catalog.adminToken);
      const all = await context.cookies();
      await context.close();
      return all.map((c) => `${c.name}=${c.value}`).join('; ');
    })();
    for (const q of ['%00prod', 'prod%1B', 'prod%09%00']) {
      const r = await fetch(`${rig.catalog.url}/search?q=${q}`, { headers: { cookie }, redirect: 'manual' });
      expect(r.status, q).toBe(400);
    }
    const api = await fetch(`${rig.catalog.url}/v1/search?q=${PROD.vmfsUuid}%09`, { headers: { authorization: `Bearer ${rig.catalog.adminToken}` } });
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('bad_request');
  });
});
