/**
 * A capture declared in part while its collector still reads (POST /v1/captures/{id}/partial):
 * it takes chunks as any open capture, each later declaration holds the earlier one as its
 * first artifacts, and its commit is refused until a begin (POST /v1/captures) declares it
 * whole. Hostile collector tokens: another host's token cannot extend it, no declaration may
 * change an artifact declared before, the limits table holds for the whole declaration however
 * it is extended, and a declaration in part cannot be committed; each is a 4xx JSON error and
 * leaves the capture as it was.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captures } from '../../db/schema.js';
import { LIMITS } from '../../api/ingest/limits.js';
import type { BeginRequest, BeginResponse } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, type IngestHttpError, prepareCapture, sendChunks, uploadMissing } from '../helpers/ingest-client.js';

/** A small artifact: 4 KiB of random bytes amid zeros, one chunk (sent through the catalog). */
const small = (i: number) => {
  const bytes = Buffer.alloc(64 * 1024);
  randomBytes(4096).copy(bytes, 1024);
  return { kind: 'vmfs-undelete' as const, fileName: `u${i}.tgz`, bytes, gzip: true };
};

describeEachFlavour('a capture declared in part', (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    tokens = await collectorTokens(catalog, ['esx-a', 'esx-b']);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  /** POST /v1/captures/{id}/partial with the first `n` artifacts of `req`; the raw answer. */
  const partly = (req: BeginRequest, n: number, token = tokens['esx-a'], id = req.captureId) =>
    catalog.request(`/v1/captures/${id}/partial`, {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...req, artifacts: req.artifacts.slice(0, n) }),
    });
  const ok = async (res: Response): Promise<BeginResponse> => {
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as BeginResponse;
  };
  const refused = async (res: Response, status: number, message: RegExp) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toMatch(message);
    return body.error;
  };
  const stored = async (id: string) => {
    const [row] = await catalog.services.db.select().from(captures).where(eq(captures.id, id));
    return row?.request as (BeginRequest & { partial?: true }) | undefined;
  };

  it('takes chunks while declared in part, and commits once declared whole', async () => {
    const p = prepareCapture({ host: 'esx-a', artifacts: [small(0), small(1), small(2)] });
    const req = p.request;
    const first = await ok(await partly(req, 1));
    expect(first.missing.map((t) => t.sha256)).toEqual(req.artifacts[0].chunks.map((c) => c.sha256));
    await sendChunks(catalog, p, [req.artifacts[0].chunks[0].sha256], tokens['esx-a']);
    expect((await stored(req.captureId))?.partial).toBe(true);

    // Extended: only the new artifact's chunk is missing; a late repeat of the first part changes nothing.
    const second = await ok(await partly(req, 2));
    expect(second.missing.map((t) => t.sha256)).toEqual([req.artifacts[1].chunks[0].sha256]);
    await ok(await partly(req, 1));
    expect((await stored(req.captureId))?.artifacts).toHaveLength(2);
    await sendChunks(catalog, p, [req.artifacts[1].chunks[0].sha256], tokens['esx-a']);

    // Not committed while in part.
    await refused(
      await catalog.request(`/v1/captures/${req.captureId}/commit`, { method: 'POST', token: tokens['esx-a'] }),
      409,
      /declared in part.*whole declaration/,
    );

    // Declared whole by a begin: only the last artifact's chunk is missing, then it commits.
    const whole = await begin(catalog, req, tokens['esx-a']);
    expect(whole.missing.map((t) => t.sha256)).toEqual([req.artifacts[2].chunks[0].sha256]);
    expect((await stored(req.captureId))?.partial).toBeUndefined();
    await uploadMissing(catalog, p, whole);
    const done = await commit(catalog, req.captureId, tokens['esx-a']);
    expect(done.state).toBe('committed');
    expect(done.artifacts.map((a) => a.fileName)).toEqual(['u0.tgz', 'u1.tgz', 'u2.tgz']);
    // A late part of a committed capture is answered as such.
    expect((await ok(await partly(req, 2))).state).toBe('committed');
  });

  it('a spooled capture sent again after its run stopped in part commits under its id', async () => {
    // The run stopped after one part: its next run sends the whole capture, as spooled.
    const p = prepareCapture({ host: 'esx-a', artifacts: [small(3), small(4)] });
    await ok(await partly(p.request, 1));
    const whole = await begin(catalog, p.request, tokens['esx-a']);
    await uploadMissing(catalog, p, whole);
    expect((await commit(catalog, p.request.captureId, tokens['esx-a'])).state).toBe('committed');
  });

  it("refuses another host's token, a changed artifact, a shorter whole and the body of another capture", async () => {
    const p = prepareCapture({ host: 'esx-a', artifacts: [small(5), small(6), small(7)] });
    const req = p.request;
    await ok(await partly(req, 2));
    const before = await stored(req.captureId);

    // Host B's token, naming host A (403) or itself (409: the id is host A's capture).
    await refused(await partly(req, 3, tokens['esx-b']), 403, /only write for host esx-b/);
    await refused(await partly({ ...req, host: { ...req.host, name: 'esx-b' } }, 3, tokens['esx-b']), 409, /different host/);
    await expect(begin(catalog, { ...req, host: { ...req.host, name: 'esx-b' } }, tokens['esx-b'])).rejects.toMatchObject({
      status: 409,
    } satisfies Partial<IngestHttpError>);

    // An artifact declared before, changed (its hash, or its place), in a later part or the whole.
    const changed = { ...req, artifacts: [{ ...req.artifacts[0], sha256: 'f'.repeat(64) }, ...req.artifacts.slice(1)] };
    await refused(await partly(changed, 3), 409, /declared in part with other artifacts/);
    const swapped = { ...req, artifacts: [req.artifacts[1], req.artifacts[0], req.artifacts[2]] };
    await refused(await partly(swapped, 3), 409, /unchanged, as its first/);
    await expect(begin(catalog, changed, tokens['esx-a'])).rejects.toMatchObject({ status: 409 } satisfies Partial<IngestHttpError>);
    // A whole declaration must hold the part: fewer artifacts is not the capture declared.
    await expect(begin(catalog, { ...req, artifacts: req.artifacts.slice(0, 1) }, tokens['esx-a'])).rejects.toMatchObject({
      status: 409,
    } satisfies Partial<IngestHttpError>);
    // Another collection time is another capture.
    await refused(await partly({ ...req, collectedAt: '2020-01-01T00:00:00Z' }, 3), 409, /declared in part with other artifacts/);

    // The body names another capture than the path.
    await refused(await partly(req, 3, tokens['esx-a'], '0190f000-0000-7000-8000-000000000000'), 400, /names/);

    // Nothing of it was taken; the commit of the part is refused for host B (404, as an id the
    // catalog does not hold: another host's capture ids are not told apart from unknown ones) and host A (409).
    expect(await stored(req.captureId)).toEqual(before);
    await refused(await catalog.request(`/v1/captures/${req.captureId}/commit`, { method: 'POST', token: tokens['esx-b'] }), 404, /^no capture /);
    await refused(await catalog.request(`/v1/captures/${req.captureId}/commit`, { method: 'POST', token: tokens['esx-a'] }), 409, /declared in part/);
  });

  it('holds the limits table to the whole declaration however it is extended', async () => {
    const limits = LIMITS as { -readonly [K in keyof typeof LIMITS]: number };
    const was = limits.artifactsPerCapture;
    limits.artifactsPerCapture = 3;
    try {
      const p = prepareCapture({ host: 'esx-a', artifacts: [small(8), small(9), small(10), small(11)] });
      await ok(await partly(p.request, 2));
      await ok(await partly(p.request, 3));
      const over = await refused(await partly(p.request, 4), 400, /at most 3 artifacts/);
      expect(over).toMatchObject({ code: 'bad_request', details: { limit: 'artifactsPerCapture' } });
      await expect(begin(catalog, p.request, tokens['esx-a'])).rejects.toMatchObject({ status: 400 } satisfies Partial<IngestHttpError>);
      expect((await stored(p.request.captureId))?.artifacts).toHaveLength(3);
    } finally {
      limits.artifactsPerCapture = was;
    }
  });
});
