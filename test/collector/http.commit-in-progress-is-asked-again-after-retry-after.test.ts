/**
 * A 202 to a commit means the catalog's worker is verifying a large capture: the client asks
 * again after Retry-After until the answer is final, and gives up with a try-later error
 * (status 202, the capture stays spooled) once the run's wait is used up.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogClient } from '../../collector/catalog-client.js';
import { COMMIT_TIMEOUT_MS, UnreachableError } from '../../collector/http.js';

describe('commit in progress', () => {
  let server: Server;
  let url: string;
  /** Commits answered 202 before the final answer, per capture id; -1: always 202. */
  const script = new Map<string, number>([
    ['twice', 2],
    ['never', -1],
    ['never-a', -1],
    ['never-b', -1],
  ]);
  const asked = new Map<string, number>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      const id = /\/v1\/captures\/([^/]+)\/commit$/.exec(req.url ?? '')?.[1] ?? '';
      const n = (asked.get(id) ?? 0) + 1;
      asked.set(id, n);
      const busy = script.get(id)!;
      if (busy === -1 || n <= busy) {
        res.writeHead(202, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ captureId: id, state: 'committing', retryAfter: 1 }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ captureId: id, state: 'committed', committedAt: new Date(0).toISOString(), manifestKey: 'm', artifacts: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const client = (commitWaitMs: number) =>
    new CatalogClient(url, 'token', { retries: 0, baseDelayMs: 1, maxDelayMs: 1 }, { requestMs: 5000, commitMs: COMMIT_TIMEOUT_MS, commitWaitMs });

  it('asks again after Retry-After until the commit is done', async () => {
    await expect(client(60_000).commit('twice')).resolves.toMatchObject({ state: 'committed' });
    expect(asked.get('twice')).toBe(3);
  });

  it("stops when the run's wait is used up: try later, with status 202", async () => {
    const err = await client(2500)
      .commit('never')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect(err).toMatchObject({ status: 202, exitCode: 75 });
    expect((err as Error).message).toMatch(/still in progress at the catalog.*next run/);
    // 1 s + 1 s + the 0.5 s left, then one more look: four asks, never an endless loop.
    expect(asked.get('never')).toBe(4);
  });

  it("the run's wait is shared by its commits: once used up, the next commit asks once", async () => {
    const c = client(2000);
    await expect(c.commit('never-a')).rejects.toMatchObject({ status: 202 });
    expect(asked.get('never-a')).toBe(3);
    await expect(c.commit('never-b')).rejects.toMatchObject({ status: 202 });
    expect(asked.get('never-b')).toBe(1);
  });
});
