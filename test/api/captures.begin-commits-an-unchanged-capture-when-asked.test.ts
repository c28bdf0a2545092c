/**
 * `Prefer: commit-if-complete` on a begin (what the collector sends every run): a capture
 * whose every artifact is declared by `previous` and lacks no chunk — an unchanged run — is
 * committed by the begin itself, which answers the commit in `commit` and says
 * `Preference-Applied: commit-if-complete`; a later POST commit, or the begin repeated,
 * answers the same artifact ids. Anything else (a chunk list declared, a chunk missing, a
 * commit refused) answers the plain begin and leaves the capture open for POST commit, as
 * without the preference. Another host's token commits nothing this way either.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import type { BeginBody, BeginResponse } from '../../formats/protocol.js';
import { captures } from '../../db/schema.js';
import { artifactId } from '../../api/ingest/begin.js';
import { ApiError } from '../../api/errors.js';
import { lunHeader, referencing } from './previous-id-capture.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { commit, ingest, prepareCapture, uuidv7 } from '../helpers/ingest-client.js';
import { tokenFor } from './read-side-seed.js';

const PREFER = 'return=minimal, commit-if-complete';

describeEachFlavour('begin commits an unchanged capture when asked', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const artifacts = [lunHeader(1, 1), lunHeader(2, 2)];

  const post = (body: BeginBody, prefer: string | null, token?: string) =>
    catalog.request('/v1/captures', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(prefer ? { prefer } : {}) },
      body: JSON.stringify(body),
      ...(token ? { token } : {}),
    });
  const stateOf = async (captureId: string) =>
    (await catalog.services.db.select({ state: captures.state }).from(captures).where(eq(captures.id, captureId)))[0]?.state;

  it('commits an unchanged capture in the begin and answers the commit; commit and a repeated begin answer the same ids', async () => {
    const first = await ingest(catalog, { host: 'esx-once', artifacts });
    const { request } = prepareCapture({ host: 'esx-once', artifacts });
    const body = referencing(
      request,
      first.artifacts.map((a) => a.id),
    );
    // No upload URL was handed out, so there is no staging area to remove (on S3 a listing).
    const { store } = catalog.services;
    const closeStaging = store.closeStaging;
    const closed: string[] = [];
    store.closeStaging = (id: string) => {
      closed.push(id);
      return closeStaging.call(store, id);
    };
    const res = await post(body, PREFER).finally(() => {
      store.closeStaging = closeStaging;
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('commit-if-complete');
    expect(closed).toEqual([]);
    const answer = (await res.json()) as BeginResponse;
    expect(answer).toMatchObject({ captureId: body.captureId, state: 'committed', missing: [] });
    expect(answer.commit?.state).toBe('committed');
    expect(answer.commit?.artifacts.map((a) => a.id)).toEqual([artifactId(body.captureId, 0), artifactId(body.captureId, 1)]);
    // The parse is the earlier one's: the same ids found.
    expect(answer.commit?.artifacts.map((a) => a.found)).toEqual(first.artifacts.map((a) => a.found));
    expect(await stateOf(body.captureId)).toBe('committed');

    const again = await commit(catalog, body.captureId);
    expect(again).toEqual(answer.commit);
    const repeated = (await (await post(body, PREFER)).json()) as BeginResponse;
    expect(repeated.state).toBe('committed');
    expect(repeated.commit).toEqual(answer.commit);
  });

  it('leaves the capture open when a chunk list is declared, a chunk is missing, or the preference is not sent', async () => {
    const first = await ingest(catalog, { host: 'esx-open', artifacts });
    const ids = first.artifacts.map((a) => a.id);
    const { request } = prepareCapture({ host: 'esx-open', artifacts });
    // Every chunk held, but one artifact declared by its chunk list: the commit would read it.
    const mixed = referencing(request, [ids[0], null]);
    // A new artifact: its distinct chunk is missing.
    const changed = prepareCapture({ host: 'esx-open', artifacts: [artifacts[0], lunHeader(3, 3)] }).request;
    const fresh = referencing(changed, [ids[0], null]);
    const plain = referencing(request, ids);
    for (const [what, body, prefer] of [
      ['a chunk list', mixed, PREFER],
      ['a missing chunk', fresh, PREFER],
      ['no preference', plain, 'return=minimal'],
    ] as const) {
      const res = await post(body, prefer);
      expect(res.status, what).toBe(200);
      expect(res.headers.get('preference-applied'), what).toBeNull();
      const answer = (await res.json()) as BeginResponse;
      expect(answer.state, what).toBe('open');
      expect(answer.commit, what).toBeUndefined();
      expect(await stateOf(body.captureId), what).toBe('open');
    }
    expect((await commit(catalog, mixed.captureId)).state).toBe('committed');
    expect((await commit(catalog, plain.captureId)).artifacts.map((a) => a.found)).toEqual(first.artifacts.map((a) => a.found));
  });

  it('answers the plain begin when the commit is refused, and POST commit then commits', async () => {
    const first = await ingest(catalog, { host: 'esx-refused', artifacts });
    const { request } = prepareCapture({ host: 'esx-refused', artifacts });
    const body = referencing(
      request,
      first.artifacts.map((a) => a.id),
    );
    const store = catalog.services.store;
    const put = store.put.bind(store);
    // The manifest cannot be written once: an outage the commit answers 503 for.
    store.put = async () => {
      throw new ApiError('service_unavailable', 'the blob store is unavailable (test)');
    };
    let answer: BeginResponse;
    try {
      const res = await post(body, PREFER);
      expect(res.status).toBe(200);
      answer = (await res.json()) as BeginResponse;
    } finally {
      store.put = put;
    }
    expect(answer).toEqual({ captureId: body.captureId, state: 'open', missing: [] });
    expect(await stateOf(body.captureId)).toBe('open');
    const done = await commit(catalog, body.captureId);
    expect(done.artifacts.map((a) => a.id)).toEqual([artifactId(body.captureId, 0), artifactId(body.captureId, 1)]);
  });

  it("another host's collector token commits nothing through the preference", async () => {
    const own = await tokenFor(catalog, 'collector', 'esx-victim');
    const hostile = await tokenFor(catalog, 'collector', 'esx-thief');
    const first = await ingest(catalog, { host: 'esx-victim', artifacts });
    const { request } = prepareCapture({ host: 'esx-victim', artifacts });
    const body = referencing(
      request,
      first.artifacts.map((a) => a.id),
    );
    // The victim's own capture, begun by the other host's token: refused before anything is recorded.
    const refused = await post(body, PREFER, hostile);
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toMatch(/committed|manifest/);
    expect(await stateOf(body.captureId)).toBeUndefined();
    // The thief's own host naming the victim's artifacts: the same 422 as any unknown id.
    const theirs = { ...body, captureId: uuidv7(), host: { ...body.host, name: 'esx-thief' } };
    const stolen = await post(theirs, PREFER, hostile);
    expect(stolen.status).toBe(422);
    expect(await stateOf(theirs.captureId)).toBeUndefined();
    // Once the victim committed it, the other token learns nothing by repeating the begin.
    expect(((await (await post(body, PREFER, own)).json()) as BeginResponse).state).toBe('committed');
    const peek = await post(body, PREFER, hostile);
    expect(peek.status).toBe(403);
    expect(await peek.text()).not.toMatch(/artifacts|manifest/);
  });
});
