/**
 * A collector token cannot fill the database with captures it begins and never commits: a
 * begin stores its request (and a `previous` reference of a few bytes stands for a whole
 * chunk list), so a host may have at most MAX_OPEN_CAPTURES begun and not committed within
 * STAGING_MAX_AGE_MS. The next new one is 429 with Retry-After and the JSON error shape
 * (RFC 6585 §4: "Too Many Requests", with Retry-After); a repeated begin of a capture already
 * open still answers, another host is not affected, a commit frees a place, and open
 * captures past that age stop counting and are deleted by the staging sweep.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_OPEN_CAPTURES } from '../../api/ingest/begin.js';
import { STAGING_MAX_AGE_MS, sweepStaging } from '../../api/ingest/staging.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, IngestHttpError, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

describeEachFlavour('open captures per host', (flavour) => {
  let catalog: TestCatalog;
  let clock = new Date('2026-11-20T00:00:00Z').getTime();
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => new Date(clock) });
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const capture = (host: string) =>
    prepareCapture({ host, collectedAt: new Date(clock), artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(500) }] });

  it('refuses a new capture past the bound with 429, and nothing else', async () => {
    const token = (await collectorTokens(catalog, ['esx-greedy']))['esx-greedy'];
    const open = [];
    for (let i = 0; i < MAX_OPEN_CAPTURES; i++) {
      const p = capture('esx-greedy');
      await begin(catalog, p.request, token);
      open.push(p);
    }

    const refused = await catalog.request('/v1/captures', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(capture('esx-greedy').request),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('too_many_requests');
    expect(body.error.message).toContain(`${MAX_OPEN_CAPTURES} captures begun and not committed`);
    // How long until one frees itself, for a whole capture and for one left declared in part.
    expect(body.error.message).toContain('drops an open capture 24 h after its latest begin, one still declared in part after 1 h');

    // A capture already open may always be begun again (a collector resuming its spool).
    expect((await begin(catalog, open[0].request, token)).state).toBe('open');
    // Another host has its own bound.
    expect((await begin(catalog, capture('esx-other').request)).state).toBe('open');

    // Committing one frees a place for the next new capture.
    const answer = await begin(catalog, open[1].request, token);
    await uploadMissing(catalog, open[1], answer);
    expect((await commit(catalog, open[1].request.captureId, token)).state).toBe('committed');
    expect((await begin(catalog, capture('esx-greedy').request, token)).state).toBe('open');
    await expect(begin(catalog, capture('esx-greedy').request, token)).rejects.toMatchObject({ status: 429 } satisfies Partial<IngestHttpError>);
  });

  it('stops counting open captures past the age, and the sweep deletes them', async () => {
    clock += STAGING_MAX_AGE_MS + 60_000;
    // The greedy host's open captures are past the age: a new one is taken before any sweep.
    const fresh = capture('esx-greedy');
    expect((await begin(catalog, fresh.request)).state).toBe('open');

    const swept = await sweepStaging(catalog.services);
    // esx-greedy's 32 left open (the bound, less the one committed, plus the one taken after it) and esx-other's one.
    expect(swept.expired).toBe(MAX_OPEN_CAPTURES + 1);
    // The capture begun just now is not past the age: it commits.
    const again = await begin(catalog, fresh.request);
    await uploadMissing(catalog, fresh, again);
    expect((await commit(catalog, fresh.request.captureId)).state).toBe('committed');
    expect((await sweepStaging(catalog.services)).expired).toBe(0);
  });
});
