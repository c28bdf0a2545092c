/**
 * The commit request outlasts the idle timeout of begin and PUT: the catalog hashes a
 * large dump whole before it answers the first commit. Shown with the ordinary
 * timeout set to 300 ms (the default commit timeout kept) and a catalog that takes 1.5 s to answer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogClient } from '../../collector/catalog-client.js';
import { COMMIT_TIMEOUT_MS } from '../../collector/http.js';

describe('request timeouts', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            captureId: 'c1',
            state: 'committed',
            committedAt: new Date(0).toISOString(),
            manifestKey: 'm',
            artifacts: [],
            missing: [],
            present: [],
          }),
        );
      }, 1500);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const client = () => new CatalogClient(url, 'token', { retries: 0, baseDelayMs: 1, maxDelayMs: 1 }, { requestMs: 300, commitMs: COMMIT_TIMEOUT_MS });

  it('gives up on a silent begin after the ordinary timeout', async () => {
    await expect(client().begin({ captureId: 'c1' } as any)).rejects.toThrow(/timed out/);
  });

  it('waits for a slow commit', async () => {
    await expect(client().commit('c1')).resolves.toMatchObject({ state: 'committed' });
  });
});
