/**
 * A restore bundle whose download is cut (the catalog aborts mid-stream, a proxy closes the
 * connection) is an error, not a quiet exit 0 with half a bundle staged: one line on stderr,
 * the --json error on stdout, exit 75 (try again), and no `<out>.partial-<pid>/` left.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, runCollector, runJson } from './run-collector.js';

const TOKEN = 'operator-token-for-cut-restore-0123456789';
const UUID = '5a1c3e07-2b4d6e80-91a2-0050569a1b2c';
const dir = mkdtempSync(join(tmpdir(), 'restore-cut-'));
/** A tar member of 3 MiB of noise: the body is far longer than what is sent before the cut. */
const tarGz = (() => {
  const data = randomBytes(3 << 20);
  const head = Buffer.alloc(512);
  head.write(`restore-${UUID}/artifacts/dump.bin`);
  head.write('0000644\0', 100);
  head.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  head.write('0', 156);
  head.write('ustar\x0000', 257);
  head.fill(' ', 148, 156);
  let sum = 0;
  for (const b of head) sum += b;
  head.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return gzipSync(Buffer.concat([head, data, Buffer.alloc(1024)]));
})();
let server: Server;
let url: string;

beforeAll(async () => {
  buildBundle();
  server = createServer((req, res) => {
    // Half the bundle, then the connection goes: with a Content-Length (the catalog's
    // abort) and chunked (a proxy closing the connection).
    if (req.url?.includes('sized')) res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': tarGz.length });
    else res.writeHead(200, { 'content-type': 'application/gzip' });
    res.write(tarGz.subarray(0, tarGz.length >> 1), () => setTimeout(() => res.socket?.destroy(), 50));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('restore over a download cut mid-way', () => {
  const env = { ...process.env, CATALOG_URL: '', CATALOG_TOKEN: TOKEN, VMFS_COLLECTOR_CONFIG: '/nonexistent' };
  for (const how of ['sized', 'chunked']) {
    it(`exits 75 with one line and leaves no partial directory (${how})`, async () => {
      const out = join(dir, how);
      const r = await runCollector(['restore', '--device', `t10.${how}`, '-o', out, '--url', url, '--retries', '0'], env);
      expect(r.code).toBe(75);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^collector restore: download interrupted after \d+ bytes: /);
      expect(readdirSync(dir).filter((n) => n.startsWith(how))).toEqual([]);
    });
  }

  it('says so as the --json error shape on stdout', async () => {
    const r = await runJson(['restore', '--device', 't10.sized', '-o', join(dir, 'j'), '--url', url, '--retries', '0', '--json'], env);
    expect(r.code).toBe(75);
    expect(r.json.error.code).toBe('unreachable');
    expect(r.json.error.message).toMatch(/^download interrupted after \d+ bytes/);
    expect(readdirSync(dir).filter((n) => n.startsWith('j'))).toEqual([]);
  });
});
