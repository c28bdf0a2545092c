/**
 * A gzip request body is inflated only when the route reads it, after its token and role
 * were checked: a caller without a token (or with a token the route refuses) never makes
 * the catalog inflate anything. A 64 KiB gzip inflates to 64 MiB, so inflating before the
 * token check let anyone who can reach the port spend the catalog's memory and CPU a
 * thousandfold of what they send, as many times at once as they like. A route that reads
 * no body (commit) inflates nothing either; such routes take at most SMALL_BODY_MAX_BYTES as sent. The answers for a gzip body the route does read
 * stay those of test/api/captures.gzip-bodies-inflate-within-the-body-limit.test.ts.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '../../api/app.js';
import { SMALL_BODY_MAX_BYTES } from '../../api/http/body-limit.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, uuidv7 } from '../helpers/ingest-client.js';

describeEachFlavour('a gzip body is inflated only after the token is checked', (flavour) => {
  let catalog: TestCatalog;
  let collector: string;
  const bomb = gzipSync(Buffer.alloc(MAX_JSON_BODY_BYTES + 1024, 0x20), { level: 9 });
  // Routes other than a begin take at most SMALL_BODY_MAX_BYTES as sent (413 before the token
  // check, as for any body past its route's limit): one that fits, and inflates a thousandfold.
  const smallBomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20), { level: 9 });
  beforeAll(async () => {
    // Over a real socket: a refused request's unread body must not hold the connection up.
    catalog = await startTestCatalog(flavour, { listen: true });
    collector = (await collectorTokens(catalog, ['esx-gz']))['esx-gz'];
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const post = (path: string, body: Uint8Array | string, token: string | null) =>
    catalog.request(path, {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: body as BodyInit,
    });
  const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('answers 401 to a gzip body sent without a token or with an unknown one, without inflating it', async () => {
    expect(bomb.length).toBeLessThan(MAX_JSON_BODY_BYTES / 500);
    for (const token of [null, 'vrc_not-a-token']) {
      const big = await post('/v1/captures', bomb, token);
      expect(big.status).toBe(401);
      expect(await codeOf(big)).toBe('unauthorized');
      const garbage = await post('/v1/captures', 'not gzip at all', token);
      expect(garbage.status).toBe(401);
      expect(await codeOf(garbage)).toBe('unauthorized');
    }
  });

  it('answers 403 to a collector token on an admin route, whatever its gzip body', async () => {
    expect(smallBomb.length).toBeLessThan(SMALL_BODY_MAX_BYTES);
    const res = await post('/v1/tokens', smallBomb, collector);
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe('forbidden');
  });

  it('a commit reads no body: a gzip bomb sent with it is never inflated', async () => {
    const res = await post(`/v1/captures/${uuidv7()}/commit`, smallBomb, collector);
    expect(res.status).toBe(404);
    expect(await codeOf(res)).toBe('not_found');
  });

  it('a begin the token may send still reads its gzip body: 413 past the limit, 400 for bytes that are not gzip', async () => {
    const big = await post('/v1/captures', bomb, collector);
    expect(big.status).toBe(413);
    const garbage = await post('/v1/captures', 'not gzip at all', collector);
    expect(garbage.status).toBe(400);
    // Another route that reads its body (JSON validated by the route) answers the same.
    const admin = await post('/v1/tokens', smallBomb, catalog.adminToken);
    expect(admin.status).toBe(413);
    expect(await codeOf(admin)).toBe('payload_too_large');
  });
});
