/**
 * The drill the console must win: an operator with only the vml. id of an old
 * `esxcfg-scsidevs` output opens a fresh browser at /, signs in, pastes it, and has a
 * verified restore bundle (.tar.gz) on disk in at most 5 clicks or Enter presses.
 * The seconds are printed (measured on the embedded flavour), not asserted: the machine's
 * load is not the console's.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENT1, PROD, vmlOf } from '../api/read-side-seed.js';
import { freshPage, noBrowser, screenAndCheck, startRig, verifyBundle, type ConsoleRig } from './harness.js';

describe.skipIf(noBrowser !== null)('the DR drill: vml. id to a verified restore bundle', () => {
  let rig: ConsoleRig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.close());

  it('takes at most 5 clicks or Enter presses from a fresh browser', async () => {
    const { page, external, context } = await freshPage(rig);
    // esxcfg-scsidevs prints the vml of the device ESX found extent 1 on (the LUN it was presented as then).
    const vml = vmlOf(EXTENT1.deviceId, EXTENT1.lun);
    let clicks = 0;
    const started = performance.now();

    await page.goto(`${rig.catalog.url}/`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.fill('#token', rig.catalog.adminToken);
    await Promise.all([page.waitForURL(`${rig.catalog.url}/`), page.press('#token', 'Enter')]);
    clicks++;

    // The landing page's search box has the focus: paste, Enter.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('q');
    await page.keyboard.insertText(vml);
    await Promise.all([page.waitForURL(/\/volumes\//), page.keyboard.press('Enter')]);
    clicks++;
    expect(await page.textContent('#vmfs-uuid')).toBe(PROD.vmfsUuid);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#restore-bundle')]);
    clicks++;
    const file = join(rig.downloads, download.suggestedFilename());
    await download.saveAs(file);
    expect(file).toMatch(/\.tar\.gz$/);
    const verified = await verifyBundle(file, join(rig.downloads, 'drill'));
    const seconds = (performance.now() - started) / 1000;

    expect(verified.some((f) => f.includes(EXTENT1.deviceId))).toBe(true);
    expect(clicks).toBeLessThanOrEqual(5);
    expect(external).toEqual([]);
    console.log(
      `[drill] vml. id → verified restore bundle (${verified.length} files checked against SHA256SUMS): ${clicks} clicks/Enter presses, ${seconds.toFixed(2)} s (embedded flavour)`,
    );
    await screenAndCheck(page, 'drill-volume-after-bundle');
    await context.close();
  });
});
