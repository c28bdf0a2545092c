/**
 * A collector token that holds another host's capture id (seen in a log, a support bundle, a
 * spool copied between hosts) learned from the ingest routes that it exists: its commit and its
 * chunk batches answered 403 'this collector token may only write for host …', an id the catalog
 * does not hold 404 'no capture …'. Now every capture route answers such an id as an unknown one
 * (404 not_found, the same message), open or committed, whatever the body; an admin token still
 * commits it, and a wildcard token whose scope covers the host works on it as its own.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, frameChunks, prepareCapture, uploadMissing, uuidv7 } from '../helpers/ingest-client.js';

describeEachFlavour("captures: another host's capture id is answered as an unknown one", (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    tokens = await collectorTokens(catalog, ['esx-snoop', 'esx-victim', 'esx-v*']);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const capture = (host: string) => prepareCapture({ host, artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(400) }] });

  /** Status and error body of a route, with the capture id in the message written as ID. */
  async function answer(method: string, path: string, id: string, token: string, body?: Uint8Array) {
    const res = await catalog.request(path.replace('ID', id), {
      method,
      token,
      ...(body ? { headers: { 'content-type': 'application/octet-stream' }, body: body as unknown as BodyInit } : {}),
    });
    const text = await res.text();
    const parsed = JSON.parse(text) as { error?: { code: string; message: string; details?: unknown } };
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      error: parsed.error && { code: parsed.error.code, message: parsed.error.message.replaceAll(id, 'ID'), details: parsed.error.details },
    };
  }

  it('commit and chunk batches of an open or committed capture of another host answer as for an id the catalog does not hold', async () => {
    const open = capture('esx-victim');
    const openAnswer = await begin(catalog, open.request, tokens['esx-victim']);
    const done = capture('esx-victim');
    await uploadMissing(catalog, done, await begin(catalog, done.request, tokens['esx-victim']));
    expect((await commit(catalog, done.request.captureId, tokens['esx-victim'])).state).toBe('committed');

    const sha = openAnswer.missing[0].sha256;
    const goodBatch = frameChunks([[sha, open.stored.get(sha)!]]);
    const calls: Array<[string, string, Uint8Array | undefined]> = [
      ['POST', '/v1/captures/ID/commit', undefined],
      ['PUT', '/v1/captures/ID/chunks', goodBatch],
      ['PUT', '/v1/captures/ID/chunks', new Uint8Array([1, 2, 3])],
    ];
    for (const [method, path, body] of calls) {
      const unknown = await answer(method, path, uuidv7(), tokens['esx-snoop'], body);
      expect(unknown.status, `${method} ${path}`).toBe(404);
      expect(unknown.error?.code).toBe('not_found');
      for (const theirs of [open.request.captureId, done.request.captureId]) {
        expect(await answer(method, path, theirs, tokens['esx-snoop'], body), `${method} ${path} of ${theirs}`).toEqual(unknown);
      }
    }

    // Nothing of the victim's was touched: its own token sends the chunk and commits it.
    await uploadMissing(catalog, open, openAnswer);
    expect((await commit(catalog, open.request.captureId, tokens['esx-victim'])).state).toBe('committed');
  });

  it('an admin, and a wildcard token covering the host, still work on it', async () => {
    const p = capture('esx-victim');
    const answered = await begin(catalog, p.request, tokens['esx-victim']);
    const sha = answered.missing[0].sha256;
    const batch = await answer('PUT', '/v1/captures/ID/chunks', p.request.captureId, tokens['esx-v*'], frameChunks([[sha, p.stored.get(sha)!]]));
    expect(batch.status).toBe(200);
    expect((await commit(catalog, p.request.captureId)).state).toBe('committed');
    expect((await commit(catalog, p.request.captureId, tokens['esx-v*'])).state).toBe('committed');
  });
});
