/**
 * A collector token covers its host's name in any letter case (as DNS does: an ESXi host may
 * report ESX01 for esx01), and the catalog keeps each capture's name as sent; the bound on a
 * host's open captures (MAX_OPEN_CAPTURES) counted them by the name as sent. So a token for
 * esx01 held 8 × 32 open captures (esx01, ESX01, Esx01, …), and one for a name of n letters
 * 2^n × 32 — each storing its begin request, a `previous` reference of a few bytes standing for
 * a whole chunk list — which is what the bound is there to stop. Now a host's open captures
 * count in any letter case, and its page lists them all, so an admin can drop them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_OPEN_CAPTURES } from '../../api/ingest/begin.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, type PreparedCapture, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

/** The `n`th spelling of `name` in letter case (bit i of n: upper case for the ith letter). */
function spelling(name: string, n: number): string {
  let i = 0;
  return name.replace(/[a-z]/g, (ch) => ((n >> i++) & 1 ? ch.toUpperCase() : ch));
}

describeEachFlavour('captures: open captures are bounded whatever the letter case of the host', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    ({ 'esx-case': token } = await collectorTokens(catalog, ['esx-case']));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const capture = (host: string) => prepareCapture({ host, artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(300) }] });
  const beginStatus = async (p: PreparedCapture) => {
    const res = await catalog.request('/v1/captures', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(p.request),
    });
    return { status: res.status, body: await res.text() };
  };

  it('refuses the next new capture in any spelling once the host holds the bound in several', async () => {
    const open: PreparedCapture[] = [];
    for (let i = 0; i < MAX_OPEN_CAPTURES; i++) {
      const p = capture(spelling('esx-case', i));
      expect((await beginStatus(p)).status).toBe(200);
      open.push(p);
    }
    for (const name of [spelling('esx-case', MAX_OPEN_CAPTURES), 'ESX-CASE', 'esx-case']) {
      const refused = await beginStatus(capture(name));
      expect(refused.status, `${name}: ${refused.body}`).toBe(429);
      expect(JSON.parse(refused.body).error.code).toBe('too_many_requests');
    }
    // A capture already open may be begun again; another host has its own bound.
    expect((await beginStatus(open[5])).status).toBe(200);
    expect((await begin(catalog, capture('esx-other').request)).state).toBe('open');

    // Committing one frees a place, and the host's page lists every open capture, whatever its spelling.
    const answer = await begin(catalog, open[0].request, token);
    await uploadMissing(catalog, open[0], answer);
    expect((await commit(catalog, open[0].request.captureId, token)).state).toBe('committed');
    const host = (await (await catalog.request('/v1/hosts/esx-case')).json()) as { openCaptures: Array<{ id: string }> };
    expect(host.openCaptures.map((c) => c.id).sort()).toEqual(
      open
        .slice(1)
        .map((p) => p.request.captureId)
        .sort(),
    );
    expect((await beginStatus(capture('ESX-case'))).status).toBe(200);
    expect((await beginStatus(capture('esx-CASE'))).status).toBe(429);
  });
});
