/**
 * A collector token's host scope was matched as a regular expression (`esxi-*` → `^esxi-[^/]*$`),
 * which backtracks exponentially in the number of stars, and the host it is matched against is
 * the collector's to choose: for a scope of twelve stars (`*-*-…-*x`, which the API takes) a host
 * of 30 characters it does not cover held the event loop 2.3 s, one of 40 more than two minutes —
 * on every begin. hostScopeCovers now matches in at most (scope × host) steps. Over a socket, both
 * flavours: the begin is the 403 of a host outside the scope, and a host inside is taken.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, collectorTokens, prepareCapture } from '../helpers/ingest-client.js';

const SCOPE = `${Array(12).fill('*').join('-')}x`;

describeEachFlavour('a collector token with many stars in its scope', (flavour) => {
  let catalog: TestCatalog;
  let token: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { listen: true });
    token = (await collectorTokens(catalog, [SCOPE]))[SCOPE];
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const capture = (host: string) => prepareCapture({ host, artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: new Uint8Array(100).fill(1) }] });

  it('refuses a long host it does not cover as any other, and takes one it covers', async () => {
    const outside = `a${'-'.repeat(60)}y`;
    await expect(begin(catalog, capture(outside).request, token)).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    const inside = `a${'-'.repeat(60)}x`;
    expect((await begin(catalog, capture(inside).request, token)).state).toBe('open');
  });
});
