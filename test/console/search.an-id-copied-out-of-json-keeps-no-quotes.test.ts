/**
 * An id copied out of JSON (`esxcli --formatter=json`, the catalog's own API answers) or a
 * quoted line comes with its quotes, and out of JSON with the comma after them:
 * `"5a1c3e7f-…",` pasted into the console's search was read as text and matched nothing
 * ('Nothing in the catalog matches'). A pair of quotes around the whole term (", ', `, “ ”,
 * ‘ ’) with a comma after them is now dropped before the term is read, for the API's search
 * as for the console's; a quote inside a term, or one alone, stays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENT1, PROD, vmlOf } from '../api/read-side-seed.js';
import { freshPage, noBrowser, screenAndCheck, signIn, startRig, type ConsoleRig } from './harness.js';

describe.skipIf(noBrowser !== null)('an id pasted with its quotes', () => {
  let rig: ConsoleRig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.close());

  it('opens the volume from a JSON value, a quoted NAA and a vml. in backticks', async () => {
    const { page, context } = await freshPage(rig);
    await signIn(page, rig.catalog.url, rig.catalog.adminToken);

    await page.focus('#q');
    await page.keyboard.insertText(`"${PROD.vmfsUuid}",`);
    await Promise.all([page.waitForURL(/\/volumes\//), page.keyboard.press('Enter')]);
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);

    for (const pasted of [`'${EXTENT1.deviceId.toUpperCase()}'`, `\`${vmlOf(EXTENT1.deviceId, EXTENT1.lun)}\``, `“${PROD.label}”`]) {
      await page.fill('#header-q', pasted);
      await Promise.all([page.waitForURL(/\/volumes\//), page.press('#header-q', 'Enter')]);
      expect(await page.textContent('#vmfs-uuid'), pasted).toBe(PROD.vmfsUuid);
    }
    await screenAndCheck(page, 'search-quoted-id');

    // The API's search reads it the same way; a lone quote is still text.
    const search = async (q: string) => (await (await rig.catalog.request(`/v1/search?q=${encodeURIComponent(q)}`)).json()) as { query: { type: string } };
    expect((await search(`"${PROD.vmfsUuid}",`)).query.type).toBe('vmfsUuid');
    expect((await search(`"${PROD.vmfsUuid}`)).query.type).toBe('text');
    await context.close();
  });
});
