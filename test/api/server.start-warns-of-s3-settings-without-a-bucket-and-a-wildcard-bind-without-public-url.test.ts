/**
 * Two settings start the catalog, but not as an admin would expect, and the start said
 * nothing of either: S3_ENDPOINT (or S3_OBJECT_LOCK=true) without S3_BUCKET keeps every chunk
 * and manifest in the filesystem store under DATA_DIR, and HOST=0.0.0.0 or :: without
 * PUBLIC_URL hands out upload URLs (and, from a console opened at the printed address, a
 * collector's configuration) naming 127.0.0.1, which no collector on another machine reaches.
 * Each is now one "Warning:" line on the start's output after the listening line; neither
 * stops the start, since test setups export S3_ENDPOINT without a bucket on purpose.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { loadConfig, startWarnings } from '../../api/config.js';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';

const S3_ONLY =
  /^S3_ENDPOINT is set but S3_BUCKET is not: chunks and manifests are kept in the filesystem store under DATA_DIR \(data\/blobs\), not in S3; S3_BUCKET selects S3$/;
const EVERY_ADDRESS =
  /^HOST=0\.0\.0\.0 listens on every address but PUBLIC_URL is not set: upload URLs name http:\/\/127\.0\.0\.1:8787, as does a collector's configuration from the console opened there, so collectors on other machines need PUBLIC_URL \(http:\/\/<this machine's name>:8787\)$/;

it.each([
  ['nothing set', {}, []],
  ['S3_ENDPOINT without S3_BUCKET', { S3_ENDPOINT: 'http://minio.example:9000' }, [S3_ONLY]],
  ['S3_OBJECT_LOCK=true without S3_BUCKET', { S3_OBJECT_LOCK: 'true' }, [/^S3_OBJECT_LOCK=true is set but S3_BUCKET is not: .* S3_BUCKET selects S3$/]],
  [
    'S3_ENDPOINT and S3_OBJECT_LOCK=true without S3_BUCKET',
    { S3_ENDPOINT: 'http://minio.example:9000', S3_OBJECT_LOCK: 'true' },
    [/^S3_ENDPOINT and S3_OBJECT_LOCK=true are set but S3_BUCKET is not: /],
  ],
  ['S3_ENDPOINT with S3_BUCKET', { S3_ENDPOINT: 'http://minio.example:9000', S3_BUCKET: 'catalog', S3_OBJECT_LOCK: 'true' }, []],
  ['HOST=0.0.0.0 without PUBLIC_URL', { HOST: '0.0.0.0' }, [EVERY_ADDRESS]],
  [
    'HOST=:: without PUBLIC_URL',
    { HOST: '::', PORT: '9000' },
    [/^HOST=:: listens on every address but PUBLIC_URL is not set: upload URLs name http:\/\/127\.0\.0\.1:9000,/],
  ],
  [
    'HOST=0.0.0.0 without PUBLIC_URL, on S3',
    { HOST: '0.0.0.0', S3_BUCKET: 'catalog' },
    [
      /^HOST=0\.0\.0\.0 listens on every address but PUBLIC_URL is not set: a console opened at http:\/\/127\.0\.0\.1:8787\/ names http:\/\/127\.0\.0\.1:8787 in a collector's configuration, so /,
    ],
  ],
  ['HOST=0.0.0.0 with PUBLIC_URL', { HOST: '0.0.0.0', PUBLIC_URL: 'https://catalog.example/' }, []],
  ['HOST=192.0.2.7 without PUBLIC_URL', { HOST: '192.0.2.7' }, []],
  // The console's links, forms and redirects go under a PUBLIC_URL's path: nothing to warn of
  // (test/console/public-url-path.console-works-behind-a-proxy-that-strips-it.test.ts).
  ['PUBLIC_URL with a path', { PUBLIC_URL: 'https://proxy.example/vmfs-catalog/' }, []],
  ['PUBLIC_URL at the root of its address', { PUBLIC_URL: 'https://catalog.example:8443/' }, []],
])('%s: %j', (_name, env: Record<string, string>, expected: RegExp[]) => {
  const warnings = startWarnings(loadConfig({ DATA_DIR: 'data', ...env }));
  expect(warnings).toEqual(expected.map((line) => expect.stringMatching(line)));
});

it('the start prints each after the listening line, one line each, and serves', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-start-warnings-'));
  let server: ServerProcess | undefined;
  try {
    server = await spawnServer({ DATA_DIR: dataDir, HOST: '0.0.0.0', S3_ENDPOINT: 'http://127.0.0.1:9' });
    const port = /listening on http:\/\/0\.0\.0\.0:(\d+) .*store: fs/.exec(server.stdout())?.[1];
    expect(port, server.stdout()).toBeDefined();
    await vi.waitFor(() => expect(server!.stdout()).toMatch(/^Warning: HOST=/m));
    const lines = server.stdout().trimEnd().split('\n');
    const listening = lines.findIndex((l) => l.startsWith('VMFS Recovery Catalog listening on'));
    expect(lines.slice(listening + 1)).toEqual([
      `Warning: S3_ENDPOINT is set but S3_BUCKET is not: chunks and manifests are kept in the filesystem store under DATA_DIR (${join(dataDir, 'blobs')}), not in S3; S3_BUCKET selects S3`,
      `Warning: HOST=0.0.0.0 listens on every address but PUBLIC_URL is not set: upload URLs name http://127.0.0.1:${port}, as does a collector's configuration from the console opened there, so collectors on other machines need PUBLIC_URL (http://<this machine's name>:${port})`,
    ]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  } finally {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
