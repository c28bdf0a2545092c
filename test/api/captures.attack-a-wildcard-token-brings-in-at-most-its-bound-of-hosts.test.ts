/**
 * A wildcard collector token (`esxi-*`) covers every host name its collector cares to invent, and
 * each name's first commit brought a host into the catalog for good: a row in the hosts list, the
 * search and the stale-host checks, with no bound on how many. Now one collector token brings in
 * at most COLLECTOR_TOKEN_HOSTS_MAX hosts (here 3), counting the new names its open captures
 * give; past that a begin naming a new host is 403 in the JSON error shape, while its begins for
 * hosts it brought in, and for hosts an admin or another token brought in, are taken, another
 * token has a bound of its own, admins have none, and the hosts already there stay as they were.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, ingest, type PreparedCapture, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

const BOUND = 3;

describeEachFlavour('captures: a collector token brings at most COLLECTOR_TOKEN_HOSTS_MAX hosts into the catalog', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true, env: { COLLECTOR_TOKEN_HOSTS_MAX: String(BOUND) } });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const capture = (host: string) => prepareCapture({ host, artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(300) }] });
  const beginAnswer = async (p: PreparedCapture, token: string) => {
    const res = await catalog.request('/v1/captures', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(p.request),
    });
    return { status: res.status, body: await res.text() };
  };
  const committed = async (host: string, token: string) => {
    const p = capture(host);
    const answer = await begin(catalog, p.request, token);
    await uploadMissing(catalog, p, answer);
    return (await commit(catalog, p.request.captureId, token)).state;
  };
  const hostNames = async () => {
    const res = await catalog.request('/v1/hosts?limit=1000');
    expect(res.status).toBe(200);
    return ((await res.json()) as { hosts: Array<{ name: string; lastCapture: { id: string } | null }> }).hosts;
  };

  it('refuses a new host past the bound with 403, and takes every begin for hosts the catalog holds', async () => {
    const { 'esxi-*': proxy } = await collectorTokens(catalog, ['esxi-*']);
    const { 'esxi-exact': exact } = await collectorTokens(catalog, ['esxi-exact']);
    // Hosts brought in by an admin and by an exact-scope token, before the proxy's.
    await ingest(catalog, { host: 'esxi-admin', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(300) }] });
    expect(await committed('esxi-exact', exact)).toBe('committed');

    // The proxy brings in two hosts and names a third in a capture still open: three.
    expect(await committed('esxi-1', proxy)).toBe('committed');
    expect(await committed('esxi-2', proxy)).toBe('committed');
    const pending = capture('esxi-3');
    expect((await beginAnswer(pending, proxy)).status).toBe(200);
    const before = await hostNames();
    expect(before.map((h) => h.name)).toEqual(['esxi-1', 'esxi-2', 'esxi-admin', 'esxi-exact']);

    // A fourth new name, in any spelling the catalog would keep as a host of its own, is refused.
    for (const host of ['esxi-4', 'ESXI-1', 'esxi-invented-999']) {
      const refused = await beginAnswer(capture(host), proxy);
      expect(refused.status, `${host}: ${refused.body}`).toBe(403);
      const { error } = JSON.parse(refused.body) as { error: { code: string; message: string; requestId: string; details: unknown } };
      expect(error.code).toBe('forbidden');
      // What the collector reads to keep only this host's captures waiting (collector/send.ts).
      expect(error.details).toEqual({ limit: 'COLLECTOR_TOKEN_HOSTS_MAX', host, hosts: BOUND, max: BOUND });
      expect(error.requestId).toBeTruthy();
      expect(error.message).toContain(`this collector token (host scope esxi-*) has brought ${BOUND} hosts into the catalog`);
      expect(error.message).toContain(`COLLECTOR_TOKEN_HOSTS_MAX (${BOUND})`);
      expect(error.message).toContain(`may not bring in host ${host}`);
    }

    // Its begins for hosts it brought in (or names in an open capture), and for hosts an admin or
    // another token brought in, are taken.
    for (const host of ['esxi-1', 'esxi-2', 'esxi-3', 'esxi-admin', 'esxi-exact']) {
      const taken = await beginAnswer(capture(host), proxy);
      expect(taken.status, `${host}: ${taken.body}`).toBe(200);
    }
    expect((await beginAnswer(pending, proxy)).status).toBe(200);
    expect(await committed('esxi-exact', proxy)).toBe('committed');
    // Its open capture of a new name commits, and leaves it at the bound.
    const answer = await begin(catalog, pending.request, proxy);
    await uploadMissing(catalog, pending, answer);
    expect((await commit(catalog, pending.request.captureId, proxy)).state).toBe('committed');
    expect((await beginAnswer(capture('esxi-5'), proxy)).status).toBe(403);

    // Another token's bound is its own, and an admin has none.
    const other = (await collectorTokens(catalog, ['esxi-*']))['esxi-*'];
    expect(await committed('esxi-4', other)).toBe('committed');
    expect((await begin(catalog, capture('esxi-admin-2').request)).state).toBe('open');

    // The hosts already there are as they were, with the ones brought in since; no refused name is among them.
    const after = await hostNames();
    expect(after.map((h) => h.name)).toEqual(['esxi-1', 'esxi-2', 'esxi-3', 'esxi-4', 'esxi-admin', 'esxi-exact']);
    for (const h of before) expect(after.find((a) => a.name === h.name)?.lastCapture).toBeTruthy();
    expect((await catalog.request('/v1/hosts/esxi-2')).status).toBe(200);
  });

  it('lets begins sent at once bring in no more than the bound', async () => {
    const { 'esxi-*': proxy } = await collectorTokens(catalog, ['esxi-*']);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => beginAnswer(capture(`esxi-at-once-${i}`), proxy)));
    const taken = answers.filter((a) => a.status === 200).length;
    expect(taken).toBeLessThanOrEqual(BOUND);
    for (const a of answers) expect([200, 403], a.body).toContain(a.status);
    // Begun one after another, the rest of the bound is taken, and not one more.
    let more = 0;
    for (let i = 0; i < BOUND - taken; i++) if ((await beginAnswer(capture(`esxi-then-${i}`), proxy)).status === 200) more++;
    expect(taken + more).toBe(BOUND);
    expect((await beginAnswer(capture('esxi-then-last'), proxy)).status).toBe(403);
  });
});
