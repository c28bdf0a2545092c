/**
 * A chunk batch that arrives while its capture commits (a collector's retry of a batch that
 * went through, say) is answered 409 like any batch for a committed capture, never a 500.
 * The race is on the path of a chunk only a secret-bearing artifact references: such a chunk
 * is written into the capture's staging area, which the commit removes. The batch's check
 * that the capture is open passes, the commit runs in between, and the staging write then
 * finds no staging area and makes it again (the filesystem store), or writes into one no commit
 * will read (S3), or the commit removes what it wrote; what is left of it is removed again.
 * Either way the capture keeps what it committed, byte for byte.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, commit, frameChunks, prepareCapture, sha256Hex } from '../helpers/ingest-client.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';
import { stagingPrefix } from '../../api/store/types.js';

describeEachFlavour('a chunk batch racing its commit', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    token = (await collectorTokens(catalog, ['sol-race']))['sol-race'];
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it.each([
    ['after the batch wrote into the staging area', 'after'],
    ['before the batch wrote into it (the batch makes it again)', 'before'],
  ] as const)('a commit %s: 409 with the JSON error shape, nothing left staged, the capture reads back whole', async (_, when) => {
    const raw = new TextEncoder().encode(
      iscsitgtExport({ targets: [{ name: 't0', iqn: `iqn.2001-04.com.example:race-${when}`, luns: [{ lun: 0, guid: '600144f0c6e7d3b400004f9a2c4e0177' }] }] }),
    );
    const p = prepareCapture({
      host: 'sol-race',
      hostKind: 'solaris',
      artifacts: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: raw, gzip: true }],
    });
    const answer = await begin(catalog, p.request, token);
    const body = frameChunks(answer.missing.map((m) => [m.sha256, p.stored.get(m.sha256)!]));
    const send = () =>
      catalog.request(`/v1/captures/${p.request.captureId}/chunks`, {
        method: 'PUT',
        token,
        headers: { 'content-type': 'application/octet-stream' },
        body: body as unknown as BodyInit,
      });
    expect((await send()).status).toBe(200);

    // The commit, which removes the staging area, runs just before or just after the retry's
    // staging write (a batch does not open the area again unless it finds it missing).
    const store = catalog.services.store;
    const put = store.put.bind(store);
    let committed: Awaited<ReturnType<typeof commit>> | undefined;
    let raced = false;
    store.put = async (key, bytes, length) => {
      if (raced || !key.startsWith(stagingPrefix(p.request.captureId))) return put(key, bytes, length);
      raced = true;
      if (when === 'before') committed = await commit(catalog, p.request.captureId, token);
      await put(key, bytes, length);
      if (when === 'after') committed = await commit(catalog, p.request.captureId, token);
    };
    let retry: Response;
    try {
      retry = await send();
    } finally {
      store.put = put;
    }
    expect(committed?.artifacts).toHaveLength(1);
    expect(retry.status).toBe(409);
    expect(await retry.json()).toMatchObject({ error: { code: 'conflict', message: expect.stringContaining(p.request.captureId) } });

    // What the commit took is intact, and a repeated commit answers it again.
    const again = await commit(catalog, p.request.captureId, token);
    expect(again.artifacts.map((a) => a.id)).toEqual(committed!.artifacts.map((a) => a.id));
    const content = await catalog.request(`/v1/artifacts/${again.artifacts[0].id}/content`);
    expect(content.status).toBe(200);
    // The stored SMF export is the redacted one; it parses and names the target.
    expect(new TextDecoder().decode(await content.arrayBuffer())).toContain(`iqn.2001-04.com.example:race-${when}`);
    expect(sha256Hex(raw)).toBe(p.request.artifacts[0].sha256);
    // The retry left nothing in staging for a sweep to find.
    const left: string[] = [];
    for await (const o of store.list(stagingPrefix(p.request.captureId))) left.push(o.key);
    expect(left).toEqual([]);
  });
});
