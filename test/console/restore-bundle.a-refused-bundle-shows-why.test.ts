/**
 * The volume page's Restore bundle link carried `download`, so a bundle the catalog refused —
 * 502 chunk_corrupt when every header dump of a device restore.sh needs is damaged — was a
 * failed download in the browser's download list ('Failed - Server problem') and the reason,
 * which names the artifact, was never shown. The link now goes without `download` (a bundle
 * comes as an attachment all the same), and a console link into /v1 followed without a bearer
 * token answers a failure with a page, as the console's own pages do; an API client keeps the
 * JSON error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTENT1, PROD } from '../api/read-side-seed.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { damageChunk } from '../helpers/bundle-tar.js';
import { freshPage, noBrowser, screenAndCheck, sha256, signIn, startRig, type ConsoleRig } from './harness.js';

describe.skipIf(noBrowser !== null)('a restore bundle the catalog refuses', () => {
  let rig: ConsoleRig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => rig?.close());

  it('shows why on a page, and an API client still gets the JSON', async () => {
    // Every header dump of extent 1's device damaged: restore.sh has none to write back.
    const lun = (await (await rig.catalog.request(`/v1/luns/${EXTENT1.deviceId}`)).json()) as { artifacts: Array<{ id: string; kind: string }> };
    const dumps = lun.artifacts.filter((a) => a.kind === 'vmfs-header');
    expect(dumps.length).toBeGreaterThan(0);
    const firstChunks = new Set<string>();
    for (const a of dumps) {
      const bytes = new Uint8Array(await (await rig.catalog.request(`/v1/artifacts/${a.id}/content`)).arrayBuffer());
      firstChunks.add(sha256(bytes.subarray(0, CHUNK_SIZE)));
    }
    for (const sha of firstChunks) await damageChunk(rig.catalog, sha);
    const { page, context } = await freshPage(rig);
    await signIn(page, rig.catalog.url, rig.catalog.adminToken);
    await page.goto(`${rig.catalog.url}/volumes/${PROD.vmfsUuid}`);
    const [answer] = await Promise.all([page.waitForResponse(/restore-bundle/), page.click('#restore-bundle')]);
    expect(answer.status()).toBe(502);
    await page.waitForLoadState();
    const says = await page.textContent('[role=alert]');
    expect(says).toContain('restore.sh needs a header dump of');
    expect(says).toContain(`${EXTENT1.deviceId} and no other capture holds an intact one`);
    await screenAndCheck(page, 'restore-bundle-refused');

    const api = await rig.catalog.request(`/v1/volumes/${PROD.vmfsUuid}/restore-bundle`, { headers: { accept: 'text/html' } });
    expect([api.status, api.headers.get('content-type')]).toEqual([502, 'application/json']);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('chunk_corrupt');
    await context.close();
  });
});
