/**
 * A wildcard collector token (`esxi-*`, one SSH proxy collecting a cluster) covers every host
 * name it cares to invent, and the bound on open captures (MAX_OPEN_CAPTURES) was per host name:
 * 32 under esxi-1, 32 under esxi-2, … — no bound at all on what one token could leave open, each
 * storing its begin request. Now a collector token may hold MAX_OPEN_CAPTURES_PER_TOKEN open
 * captures over all its hosts; the next new one is the host bound's answer, 429 with Retry-After
 * and the JSON error shape (RFC 6585 §4). A repeated begin of an open capture still answers,
 * another token has its own bound, a commit frees a place, and a capture begun before the catalog
 * recorded who opened it (migration 0025: no token) counts for none and still commits.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_OPEN_CAPTURES, MAX_OPEN_CAPTURES_PER_TOKEN } from '../../api/ingest/begin.js';
import { TOO_MANY_RETRY_AFTER_SECONDS } from '../../api/errors.js';
import { queryRows } from '../../db/client.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, type PreparedCapture, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

describeEachFlavour('captures: open captures per collector token are bounded over all its hosts', (flavour) => {
  let catalog: TestCatalog;
  let proxy: string;
  let other: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    proxy = (await collectorTokens(catalog, ['esxi-*']))['esxi-*'];
    // A second proxy's token for the same scope (created after the first: its own id).
    other = (await collectorTokens(catalog, ['esxi-*']))['esxi-*'];
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
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
  };

  it('refuses a new capture of any host past the bound, as the host bound does', async () => {
    // Each invented host stays under its own bound: 8 open captures under each of 32 names.
    const perHost = 8;
    expect(perHost).toBeLessThan(MAX_OPEN_CAPTURES);
    const open: PreparedCapture[] = [];
    for (let i = 0; i < MAX_OPEN_CAPTURES_PER_TOKEN; i++) {
      const p = capture(`esxi-${Math.floor(i / perHost)}`);
      const answer = await beginAnswer(p, proxy);
      expect(answer.status, answer.body).toBe(200);
      open.push(p);
    }
    for (const host of ['esxi-0', 'esxi-invented-1', 'ESXI-9999']) {
      const refused = await beginAnswer(capture(host), proxy);
      expect(refused.status, `${host}: ${refused.body}`).toBe(429);
      expect(refused.retryAfter).toBe(String(TOO_MANY_RETRY_AFTER_SECONDS));
      const { error } = JSON.parse(refused.body) as { error: { code: string; message: string; requestId: string } };
      expect(error.code).toBe('too_many_requests');
      expect(error.requestId).toBeTruthy();
      expect(error.message).toContain(`this collector token (host scope esxi-*) has ${MAX_OPEN_CAPTURES_PER_TOKEN} captures begun and not committed`);
      expect(error.message).toContain('drops an open capture 24 h after its latest begin');
    }

    // A capture already open may be begun again; another token, and an admin, have no part of this one's bound.
    expect((await beginAnswer(open[17], proxy)).status).toBe(200);
    expect((await beginAnswer(capture('esxi-invented-2'), other)).status).toBe(200);
    expect((await begin(catalog, capture('esxi-invented-3').request)).state).toBe('open');

    // Committing one frees a place for the next new capture, and only one.
    const first = await begin(catalog, open[0].request, proxy);
    await uploadMissing(catalog, open[0], first);
    expect((await commit(catalog, open[0].request.captureId, proxy)).state).toBe('committed');
    expect((await beginAnswer(capture('esxi-invented-4'), proxy)).status).toBe(200);
    expect((await beginAnswer(capture('esxi-invented-5'), proxy)).status).toBe(429);

    // Captures begun before the catalog recorded their token (opened_by NULL, as migration 0025
    // leaves them) count for no token, and are begun again and committed as before.
    const old = open.slice(1, 3);
    await queryRows(catalog.services.db, sql`UPDATE captures SET opened_by = NULL WHERE id IN (${old[0].request.captureId}, ${old[1].request.captureId})`);
    for (const p of old) {
      const again = await begin(catalog, p.request, proxy);
      expect(again.state).toBe('open');
      await uploadMissing(catalog, p, again);
      expect((await commit(catalog, p.request.captureId, proxy)).state).toBe('committed');
    }
    // The two no longer counted (and now committed) leave two places.
    expect((await beginAnswer(capture('esxi-invented-6'), proxy)).status).toBe(200);
    expect((await beginAnswer(capture('esxi-invented-7'), proxy)).status).toBe(200);
    expect((await beginAnswer(capture('esxi-invented-8'), proxy)).status).toBe(429);
  });
});
