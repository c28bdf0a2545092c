/**
 * `collector restore` given a catalog URL that does not lead to the API — `CATALOG_URL=…/v1`
 * (the routes' own prefix typed into the base), or another web server — said `restore bundle:
 * HTTP 404 not_found: no route for GET /v1/v1/volumes/…/restore-bundle`, exit 1, which restore
 * --help lists as "no such volume": at 3 a.m. that reads as the volume being gone. Now the
 * line blames the URL and says what to give, as `collect` does for the same 404; a volume
 * the catalog does not hold is still its own 404. Against the real catalog over a socket.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { PROD, seedDatacenter } from '../api/read-side-seed.js';
import { buildBundle, isolatedEnv, runCollector, serveApp } from './run-collector.js';

describeEachFlavour('collector restore: a catalog URL that misses the API', (flavour) => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-url-'));
  let catalog: TestCatalog;
  let served: Awaited<ReturnType<typeof serveApp>>;
  let other: Server;
  let url: string;
  let otherUrl: string;

  beforeAll(async () => {
    buildBundle();
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    served = await serveApp(catalog.app);
    url = served.url;
    // Another web server on the address given: its own 404 page.
    // Under /s3: an S3 endpoint (Swift's s3api, MinIO) given as the catalog URL, its 403 in XML.
    other = createServer((req, res) =>
      req.url?.startsWith('/s3/')
        ? res
            .writeHead(403, { 'content-type': 'application/xml' })
            .end(
              "<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>AccessDenied</Code><Message>AWS authentication requires a valid Date or x-amz-date header</Message></Error>",
            )
        : res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body><h1>404 Not Found</h1></body></html>'),
    );
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await served?.close();
    await new Promise<void>((r) => other?.close(() => r()));
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  const restore = (base: string, uuid: string = PROD.vmfsUuid) =>
    runCollector(
      ['restore', '--volume', uuid, '-o', join(dir, `out-${++n}`), '--url', base, '--token', catalog.adminToken, '--retries', '0'],
      isolatedEnv(join(dir, 'absent.json')),
    );

  it.each([
    ['/v1', (u: string) => `${u}/v1`],
    ['/v1/', (u: string) => `${u}/v1/`],
  ])('a URL ending %s: the URL is named as what is wrong, exit 1, one line, nothing left', async (_what, base) => {
    const r = await restore(base(url));
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `collector restore: the catalog URL ${url}/v1 does not lead to its API (HTTP 404: not_found: no route for GET /v1/v1/volumes/${PROD.vmfsUuid}/restore-bundle): give the catalog's base URL, the console's address (without /v1)`,
    );
    expect(readdirSync(dir).filter((f) => f.startsWith(`out-${n}`))).toEqual([]);
  });

  it("another server's 404 is the URL's fault too", async () => {
    const r = await restore(otherUrl);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^collector restore: the catalog URL ${otherUrl} does not lead to its API \\(HTTP 404: <html>`));
  });

  it("an S3 endpoint's 403 is the URL's fault, not the token's", async () => {
    // Before: `restore bundle: HTTP 403 <?xml …`, which reads as the token refused (a collector's 403).
    const r = await restore(`${otherUrl}/s3`);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        `^collector restore: the catalog URL ${otherUrl}/s3 answers as another server does, not the catalog \\(HTTP 403: <\\?xml .*AccessDenied.*\\): give the catalog's base URL, the console's address$`,
      ),
    );
  });

  it("the catalog's own 403 (a collector token) is still said as the catalog says it", async () => {
    const created = await catalog.request('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'collector', host: 'esx01', name: 'restore-403' }),
    });
    const { token } = (await created.json()) as { token: string };
    const r = await runCollector(
      ['restore', '--volume', PROD.vmfsUuid, '-o', join(dir, `out-${++n}`), '--url', url, '--token', token, '--retries', '0'],
      isolatedEnv(join(dir, 'absent.json')),
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(/^collector restore: restore bundle: HTTP 403 forbidden: /);
  });

  it('a volume the catalog does not hold is still its 404, naming the volume', async () => {
    const r = await restore(url, '5a1c3e09-2b4d6e80-91a2-0050569a1b2c');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^collector restore: restore bundle: HTTP 404 not_found: the catalog holds nothing for volume 5a1c3e09-2b4d6e80-91a2-0050569a1b2c at or before /,
    );
  });
});
