/**
 * Object Lock headers, recorded by a tiny local HTTP server standing in for S3 (never sent
 * to the CI's Swift, which has no Object Lock): chunk and manifest PUTs carry
 * x-amz-object-lock-mode, x-amz-object-lock-retain-until-date and a Content-MD5 (S3 requires
 * one with a lock; AWS S3 API reference, PutObject "Object Lock"), staging PUTs carry none,
 * and extending a lock is a PutObjectRetention (`PUT ?retention`). The tier dates follow
 * the policy (api/retention/object-lock.ts).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { S3BlobStore } from '../../api/store/s3.js';
import { initialLockDate, lockDateFor } from '../../api/retention/object-lock.js';
import { DEFAULT_POLICY } from '../../api/retention/policy.js';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let endpoint: string;
const recorded: Recorded[] = [];
const UNTIL = new Date('2031-02-03T04:05:06.000Z');

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      recorded.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': '3', 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': UNTIL.toISOString() });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"0"', 'content-length': '0' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function store(): S3BlobStore {
  return new S3BlobStore({
    bucket: 'locked',
    endpoint,
    forcePathStyle: true,
    accessKeyId: 'test',
    secretAccessKey: 'test',
    maxAttempts: 1,
    objectLock: { mode: 'COMPLIANCE', retainUntil: () => UNTIL },
  });
}

it('sends the lock mode, date and a Content-MD5 with chunk and manifest PUTs, and nothing with staging PUTs', async () => {
  const s = store();
  recorded.length = 0;
  const sha = 'ab'.padEnd(64, '0');
  await s.putIfAbsent(`chunks/ab/${sha}`, new Uint8Array([1, 2, 3]));
  await s.put('manifests/stor1/0190.json', new TextEncoder().encode('{}'));
  await s.put(`staging/0190/${sha}`, new Uint8Array([1, 2, 3]));
  const puts = recorded.filter((r) => r.method === 'PUT');
  expect(puts.map((p) => p.url.split('?')[0])).toEqual([`/locked/chunks/ab/${sha}`, '/locked/manifests/stor1/0190.json', `/locked/staging/0190/${sha}`]);
  for (const p of puts.slice(0, 2)) {
    expect(p.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
    expect(new Date(String(p.headers['x-amz-object-lock-retain-until-date'])).toISOString()).toBe(UNTIL.toISOString());
    expect(p.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  }
  expect(puts[2].headers['x-amz-object-lock-mode']).toBeUndefined();
  expect(puts[2].headers['x-amz-object-lock-retain-until-date']).toBeUndefined();
});

it('reads the lock date with HEAD and extends it with PutObjectRetention', async () => {
  const s = store();
  recorded.length = 0;
  expect((await s.lockedUntil('chunks/ab/x'))?.toISOString()).toBe(UNTIL.toISOString());
  const later = new Date('2032-01-01T00:00:00.000Z');
  await s.extendLock('chunks/ab/x', later);
  const put = recorded.find((r) => r.method === 'PUT')!;
  expect(put.url).toMatch(/^\/locked\/chunks\/ab\/x\?retention/);
  expect(put.body).toContain('<Mode>COMPLIANCE</Mode>');
  expect(put.body).toContain('<RetainUntilDate>2032-01-01T00:00:00');
});

it('dates a lock by the longest tier keeping the capture', () => {
  const now = new Date('2025-03-01T00:00:00Z');
  const time = new Date('2025-01-31T12:00:00Z');
  // Fresh objects: the keep-within window (7d), at least a day.
  expect(initialLockDate({ RETENTION_KEEP_WITHIN: '7d' }, now).toISOString()).toBe('2025-03-08T00:00:00.000Z');
  // Monthly (12 months) outlasts weekly (5 weeks).
  expect(lockDateFor(['weekly 2025-W05', 'monthly 2025-01'], time, DEFAULT_POLICY, now, 400).toISOString()).toBe('2026-01-31T12:00:00.000Z');
  // Reasons written before they were padded ('monthly 2025-1') read the same.
  expect(lockDateFor(['weekly 2025-W5', 'monthly 2025-1'], time, DEFAULT_POLICY, now, 400).toISOString()).toBe('2026-01-31T12:00:00.000Z');
  // An unlimited tier or a pin has no end: the maximum from now, renewed by each run.
  expect(lockDateFor(['yearly 2025'], time, DEFAULT_POLICY, now, 400).toISOString()).toBe('2026-04-05T00:00:00.000Z');
  expect(lockDateFor(['pinned: audit'], time, { keepDaily: 3 }, now, 30).toISOString()).toBe('2025-03-31T00:00:00.000Z');
});
