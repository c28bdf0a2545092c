/**
 * A capture left declared in part (POST /v1/captures/{id}/partial) is a collector run that
 * stopped while it read — killed, rebooted, out of memory — and spooled nothing, so no run
 * sends it again. The staging sweep drops it an hour after its latest begin (PARTIAL_MAX_AGE_MS)
 * instead of 24 h, so runs that stop so repeatedly do not take up their host's open captures
 * (MAX_OPEN_CAPTURES, 429 for every new capture until they expire). An open capture declared
 * whole, and one in part begun lately, stay; a capture dropped in part and later sent whole
 * from the spool under its id still commits. The host's page (GET /v1/hosts/{name}, operators)
 * marks the open captures declared in part; the host's collector token cannot read it.
 */
import { randomBytes } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PARTIAL_MAX_AGE_MS, sweepStaging } from '../../api/ingest/staging.js';
import { captureChunks, captures } from '../../db/schema.js';
import type { BeginRequest } from '../../formats/protocol.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, prepareCapture, sendChunks, uploadMissing } from '../helpers/ingest-client.js';
import { tokenFor } from './read-side-seed.js';

const small = (i: number) => {
  const bytes = Buffer.alloc(64 * 1024);
  randomBytes(4096).copy(bytes, 1024);
  return { kind: 'vmfs-undelete' as const, fileName: `u${i}.tgz`, bytes, gzip: true };
};

describeEachFlavour('a capture left in part', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  let operator: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    token = (await collectorTokens(catalog, ['esx-a']))['esx-a'];
    operator = await tokenFor(catalog, 'operator');
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const partly = async (req: BeginRequest, n: number) => {
    const res = await catalog.request(`/v1/captures/${req.captureId}/partial`, {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...req, artifacts: req.artifacts.slice(0, n) }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  /** Moves a capture's latest begin `ms` into the past. */
  const age = (id: string, ms: number) =>
    catalog.services.db
      .update(captures)
      .set({ lastBegunAt: new Date(catalog.services.now().getTime() - ms) })
      .where(eq(captures.id, id));

  it('is dropped an hour after its latest begin; a whole one and a recent part stay', async () => {
    // The host's page exists once the host committed a capture.
    const first = prepareCapture({ host: 'esx-a', artifacts: [small(9)] });
    await uploadMissing(catalog, first, await begin(catalog, first.request, token));
    await commit(catalog, first.request.captureId, token);
    const stopped = prepareCapture({ host: 'esx-a', artifacts: [small(0), small(1)] });
    const recent = prepareCapture({ host: 'esx-a', artifacts: [small(2), small(3)] });
    const whole = prepareCapture({ host: 'esx-a', artifacts: [small(4)] });
    await partly(stopped.request, 1);
    await sendChunks(catalog, stopped, [stopped.request.artifacts[0].chunks[0].sha256], token);
    await partly(recent.request, 1);
    await begin(catalog, whole.request, token);
    await age(stopped.request.captureId, PARTIAL_MAX_AGE_MS + 60_000);
    await age(recent.request.captureId, PARTIAL_MAX_AGE_MS - 60_000);
    await age(whole.request.captureId, PARTIAL_MAX_AGE_MS + 60_000);

    // The host's page marks the two declared in part; the collector token reads no host page.
    expect((await catalog.request('/v1/hosts/esx-a', { token })).status).toBe(403);
    const page = await catalog.request('/v1/hosts/esx-a', { token: operator });
    expect(page.status).toBe(200);
    const open = ((await page.json()) as { openCaptures: Array<{ id: string; partial: boolean; artifactCount: number }> }).openCaptures;
    expect(new Map(open.map((c) => [c.id, [c.partial, c.artifactCount]]))).toEqual(
      new Map([
        [stopped.request.captureId, [true, 1]],
        [recent.request.captureId, [true, 1]],
        [whole.request.captureId, [false, 1]],
      ]),
    );

    const swept = await sweepStaging(catalog.services);
    expect(swept.expired).toBe(1);
    const ids = [stopped, recent, whole].map((p) => p.request.captureId);
    const rows = await catalog.services.db.select({ id: captures.id }).from(captures).where(inArray(captures.id, ids));
    expect(rows.map((r) => r.id).sort()).toEqual(ids.slice(1).sort());
    expect(await catalog.services.db.select().from(captureChunks).where(eq(captureChunks.captureId, ids[0]))).toEqual([]);

    // Its run had spooled it after all (stopped between spooling and delivery): sent whole, it commits.
    const again = await begin(catalog, stopped.request, token);
    expect(again.missing).toHaveLength(2);
    await uploadMissing(catalog, stopped, again);
    const done = await commit(catalog, ids[0], token);
    expect(done.artifacts.map((a) => a.fileName)).toEqual(['u0.tgz', 'u1.tgz']);
  });
});
