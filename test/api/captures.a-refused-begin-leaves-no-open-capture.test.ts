/**
 * A begin the catalog refuses as sent must not count against its host. On S3 a chunk that
 * needs an upload URL must declare its MD5 (S3 binds the URL to Content-MD5); a begin without
 * it is a 400 — which used to leave its capture open, so a client repeating the mistake filled
 * the host's open captures (MAX_OPEN_CAPTURES) and its next correct run was refused with 429
 * for a day. The filesystem store signs its URLs itself and needs no MD5.
 */
import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_OPEN_CAPTURES } from '../../api/ingest/begin.js';
import { captures } from '../../db/schema.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { commit, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';

describeEachFlavour('a refused begin leaves no open capture', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const withoutMd5 = () => {
    const p = prepareCapture({ host: 'esx-nomd5', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(5000) }] });
    for (const a of p.request.artifacts) for (const c of a.chunks) delete c.storedMd5;
    return p;
  };
  const post = (body: unknown) =>
    catalog.request('/v1/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('more begins without MD5 than a host may keep open are each refused as sent, and a correct one then goes through', async () => {
    const s3 = catalog.services.store.kind === 's3';
    for (let i = 0; i < MAX_OPEN_CAPTURES + 2; i++) {
      const res = await post(withoutMd5().request);
      if (!s3) {
        // The filesystem store binds its own URLs to the body's SHA-256: the begin is taken.
        expect(res.status).toBe(200);
        break;
      }
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain('needs storedMd5');
    }
    const open = await catalog.services.db
      .select({ id: captures.id })
      .from(captures)
      .where(and(eq(captures.host, 'esx-nomd5'), eq(captures.state, 'open')));
    expect(open).toHaveLength(s3 ? 0 : 1);
    const good = prepareCapture({ host: 'esx-nomd5', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tgz', bytes: randomBytes(5000) }] });
    const res = await post(good.request);
    expect(res.status).toBe(200);
    await uploadMissing(catalog, good, await res.json());
    expect((await commit(catalog, good.request.captureId)).state).toBe('committed');
  });
});
