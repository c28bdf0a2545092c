/**
 * Audit rows record where a request came from. X-Forwarded-For is written by whoever
 * sends the request, so by default it is ignored and the socket's peer is recorded (on
 * Lambda: API Gateway's sourceIp); with TRUST_PROXY=true the address the proxy appended
 * (the header's last entry) is recorded instead.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { handlerFor } from '../../api/lambda.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const zfs = new TextEncoder().encode('tank/a@daily\t1793491200\t1024\n');

/** Downloads one artifact and answers the remote_addr of the audit row it left. */
async function auditedAddr(catalog: TestCatalog, artifactId: string, send: (path: string) => Promise<void>): Promise<string | null> {
  await send(`/v1/artifacts/${artifactId}/content`);
  const [row] = await queryRows<{ remote_addr: string | null; subject: string }>(
    catalog.services.db,
    sql`SELECT remote_addr, subject FROM audit WHERE action = 'download' ORDER BY id DESC LIMIT 1`,
  );
  expect(row.subject).toBe(artifactId);
  return row.remote_addr;
}

describeEachFlavour('audit: the client address', (flavour) => {
  let direct: TestCatalog;
  let proxied: TestCatalog;
  let directArtifact: string;
  let proxiedArtifact: string;
  beforeAll(async () => {
    direct = await startTestCatalog(flavour, { listen: true });
    proxied = await startTestCatalog(flavour, { listen: true, env: { TRUST_PROXY: 'true' } });
    directArtifact = (await ingest(direct, { host: 'esx41', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: zfs }] })).artifacts[0].id;
    proxiedArtifact = (await ingest(proxied, { host: 'esx42', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: zfs }] })).artifacts[0].id;
  });
  afterAll(async () => {
    await direct?.close();
    await proxied?.close();
  });

  const download = (catalog: TestCatalog, headers: Record<string, string>) => async (path: string) => {
    const res = await catalog.request(path, { headers });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };

  it('TRUST_PROXY defaults to false: a forged X-Forwarded-For is ignored, the socket peer is recorded', async () => {
    expect(direct.services.config.TRUST_PROXY).toBe(false);
    const addr = await auditedAddr(direct, directArtifact, download(direct, { 'x-forwarded-for': '203.0.113.66' }));
    expect(addr).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });

  it('with TRUST_PROXY=true the address the proxy appended is recorded', async () => {
    expect(await auditedAddr(proxied, proxiedArtifact, download(proxied, { 'x-forwarded-for': '192.0.2.7' }))).toBe('192.0.2.7');
    // A client-supplied entry comes first; the proxy appends the peer it saw last.
    expect(await auditedAddr(proxied, proxiedArtifact, download(proxied, { 'x-forwarded-for': '203.0.113.66, 192.0.2.8' }))).toBe('192.0.2.8');
    // Without the header: the socket peer.
    expect(await auditedAddr(proxied, proxiedArtifact, download(proxied, {}))).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });

  it('on Lambda, without TRUST_PROXY, the API Gateway sourceIp is recorded, not the header', async () => {
    const handler = handlerFor(direct.app);
    const now = new Date();
    const invoke = async (path: string) => {
      const res = (await handler(
        {
          version: '2.0',
          routeKey: '$default',
          rawPath: path,
          rawQueryString: '',
          headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', authorization: `Bearer ${direct.adminToken}`, 'x-forwarded-for': '203.0.113.66' },
          requestContext: {
            accountId: '123456789012',
            apiId: 'abc123',
            domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
            domainPrefix: 'abc123',
            http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'vitest' },
            requestId: randomUUID(),
            routeKey: '$default',
            stage: '$default',
            time: now.toUTCString(),
            timeEpoch: now.getTime(),
          },
          isBase64Encoded: false,
        } as never,
        { awsRequestId: 'req', getRemainingTimeInMillis: () => 30_000 } as never,
      )) as { statusCode: number };
      expect(res.statusCode).toBe(200);
    };
    expect(await auditedAddr(direct, directArtifact, invoke)).toBe('198.51.100.7');
  });
});
