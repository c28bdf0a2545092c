/**
 * HOST=:: (every IPv6 and IPv4 address) or an IPv6 literal, without PUBLIC_URL: the upload
 * URLs the embedded store signs must be URLs. They were built as `http://${HOST}:${PORT}`,
 * so HOST=:: gave `http://:::8787/v1/blobs/…` and every collector run failed with
 * ERR_INVALID_URL, its capture left in the spool. A wildcard bind is reached on loopback,
 * as the console URL already was, and a literal goes in brackets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { localBaseUrl } from '../../api/config.js';
import { spawnServer } from '../helpers/spawn-server.js';
import { ingest, remoteCatalog } from '../helpers/ingest-client.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vrc-ipv6-bind-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it.each([
  ['0.0.0.0', 'http://127.0.0.1:8787'],
  ['::', 'http://127.0.0.1:8787'],
  ['::1', 'http://[::1]:8787'],
  ['fd00::2', 'http://[fd00::2]:8787'],
  ['127.0.0.1', 'http://127.0.0.1:8787'],
  ['catalog.lan', 'http://catalog.lan:8787'],
])('PUBLIC_URL defaults to a URL for HOST=%s', (host, url) => {
  expect(localBaseUrl(host, 8787)).toBe(url);
  expect(new URL(localBaseUrl(host, 8787)).port).toBe('8787');
});

it('a capture goes in through a server bound to ::', { timeout: 240_000 }, async () => {
  const token = 'ipv6-bind-bootstrap-token-0123456789';
  const server = await spawnServer({ DATA_DIR: dataDir, HOST: '::', CATALOG_BOOTSTRAP_TOKEN: token });
  try {
    expect(server.stdout()).toMatch(/listening on http:\/\/\[::\]:\d+ /);
    const port = new URL(server.url).port;
    const catalog = remoteCatalog(`http://127.0.0.1:${port}`, token);
    const committed = await ingest(catalog, {
      host: 'esx-v6',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@b\t1793491200\t1\n') }],
    });
    expect(committed.state).toBe('committed');
  } finally {
    expect(await server.stop()).toBe(0);
  }
});
