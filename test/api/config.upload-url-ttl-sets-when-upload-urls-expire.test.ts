/**
 * UPLOAD_URL_TTL is how long an upload URL a begin hands out stays valid (.env.example: 3600 s
 * by default), on either store: each missing chunk's `expiresAt` is that many seconds after
 * the begin.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, prepareCapture } from '../helpers/ingest-client.js';

describeEachFlavour('UPLOAD_URL_TTL', (flavour) => {
  let catalog: TestCatalog | undefined;
  afterEach(async () => {
    await catalog?.close();
    catalog = undefined;
  });

  it.each([
    [undefined, 3600],
    ['600', 600],
  ])('set to %s, upload URLs expire %i s after the begin', async (value, seconds) => {
    catalog = await startTestCatalog(flavour, { env: value === undefined ? {} : { UPLOAD_URL_TTL: value } });
    // Over 128 KiB stored: the chunk goes to an upload URL, not through the catalog.
    const prepared = prepareCapture({ host: 'esx01', artifacts: [{ kind: 'unknown', fileName: 'noise.bin', bytes: randomBytes(300 * 1024) }] });
    const before = Date.now();
    const answer = await begin(catalog, prepared.request);
    const after = Date.now();
    expect(answer.missing.length).toBeGreaterThan(0);
    for (const target of answer.missing) {
      const expires = Date.parse(target.expiresAt);
      expect(expires).toBeGreaterThanOrEqual(before + seconds * 1000 - 1000);
      expect(expires).toBeLessThanOrEqual(after + seconds * 1000 + 1000);
      // The URL itself carries it: S3's X-Amz-Expires (seconds), the filesystem store's exp (epoch seconds).
      const query = new URL(target.url, 'http://catalog.invalid').searchParams;
      if (query.has('X-Amz-Expires')) expect(Number(query.get('X-Amz-Expires'))).toBe(seconds);
      else expect(Number(query.get('exp')) * 1000).toBe(expires);
    }
  });
});
