/**
 * An S3_ENDPOINT that leads to a server which is not S3 — MinIO's console port instead of its
 * API's, a web server, the catalog itself — answered the admin commands with what the AWS SDK
 * made of it: `catalog: UnknownError` (an empty 404) or `catalog: @aws-sdk XML parse error:
 * unexpected content.` (a 404 with a JSON body), exit 1, naming neither the setting nor the
 * address. It is now a setting error: one line naming S3_ENDPOINT, the address and the HTTP
 * status, exit 78 (`invalid_setting` under --json).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';

const dir = mkdtempSync(join(tmpdir(), 'vrc-boot-endpoint-'));
let server: Server;
let endpoint = '';
beforeAll(async () => {
  // Not S3: a 404 for every path, empty or with a JSON body as a web application answers.
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.includes('json')) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no route"}');
      else res.writeHead(404, { 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run catalog -- check with an S3_ENDPOINT that is no S3 server', () => {
  // Asynchronously: the server that answers is this process.
  const run = (bucket: string, json: boolean) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((done) =>
      execFile(
        process.execPath,
        [join(ROOT, 'dist/catalog.mjs'), 'check', ...(json ? ['--json'] : [])],
        {
          env: serverEnv({
            DATA_DIR: join(dir, `${bucket}-${json}`),
            S3_BUCKET: bucket,
            S3_ENDPOINT: endpoint,
            S3_FORCE_PATH_STYLE: 'true',
            S3_MAX_ATTEMPTS: '1',
            AWS_ACCESS_KEY_ID: 'key',
            AWS_SECRET_ACCESS_KEY: 'secret',
          }),
          encoding: 'utf8',
          timeout: 60_000,
        },
        (err, stdout, stderr) => done({ status: err ? ((err.code as number) ?? 1) : 0, stdout, stderr }),
      ),
    );

  it.each(['empty', 'json'])('a 404 (%s body): one line naming S3_ENDPOINT, the address and the status, exit 78', async (bucket) => {
    const r = await run(bucket, false);
    expect(r.stderr).toMatch(
      new RegExp(
        `^catalog: invalid configuration: S3_ENDPOINT: ${endpoint.replace(/[.]/g, '\\.')} answered HTTP 404 as no S3 server does \\([^\\n]+\\): set it to the address of the store's S3 API \\(MinIO: its API port, not its console's\\)\\n$`,
      ),
    );
    expect(r.status).toBe(78);
    const j = await run(bucket, true);
    expect(j.status).toBe(78);
    expect(JSON.parse(j.stdout).error.code).toBe('invalid_setting');
  });
});
