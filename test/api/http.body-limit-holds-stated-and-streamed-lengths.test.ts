/**
 * The body limit (api/http/body-limit.ts) on the Node server, through a real socket: a body
 * whose Content-Length passes the limit is refused before any of it is read, a chunked one
 * (no Content-Length) once its bytes pass it; a body at the limit reaches the route whole,
 * either way.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bodyLimit } from '../../api/http/body-limit.js';

const LIMIT = 10;
let server: ServerType;
let port: number;

beforeAll(async () => {
  const app = new Hono();
  app.put('/echo', bodyLimit({ maxSize: LIMIT, onError: (c) => c.text('too large', 413) }), async (c) =>
    c.text(String((await c.req.arrayBuffer()).byteLength)),
  );
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** PUTs `parts`, with a Content-Length when `stated`, else chunked; answers status and body. */
function put(parts: Buffer[], stated: boolean): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const length = parts.reduce((n, p) => n + p.length, 0);
    const req = request(
      { host: '127.0.0.1', port, method: 'PUT', path: '/echo', headers: stated ? { 'content-length': String(length) } : { 'transfer-encoding': 'chunked' } },
      (res) => {
        const got: Buffer[] = [];
        res.on('data', (d: Buffer) => got.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(got).toString('utf8') }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    for (const p of parts) req.write(p);
    req.end();
  });
}

it('reads a body at the limit, stated or chunked', async () => {
  expect(await put([Buffer.alloc(LIMIT, 1)], true)).toEqual({ status: 200, text: String(LIMIT) });
  expect(await put([Buffer.alloc(4, 1), Buffer.alloc(LIMIT - 4, 2)], false)).toEqual({ status: 200, text: String(LIMIT) });
});

it('refuses a body past the limit, by its Content-Length or by what streams in', async () => {
  expect(await put([Buffer.alloc(LIMIT + 1, 1)], true)).toEqual({ status: 413, text: 'too large' });
  expect(await put([Buffer.alloc(4, 1), Buffer.alloc(LIMIT - 3, 2)], false)).toEqual({ status: 413, text: 'too large' });
});
