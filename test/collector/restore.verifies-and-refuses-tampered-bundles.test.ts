/**
 * `restore` fetches a bundle over HTTP, checks every file against SHA256SUMS and
 * unpacks it; a tampered, incomplete or hostile bundle is refused with nothing left
 * behind. Bundles here are written with the `tar` package and served from a local
 * HTTP server speaking the catalog's route shapes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, runCollector, runJson } from './run-collector.js';

const TOKEN = 'operator-token-for-restore-tests-0123456789';
const UUID = '5a1c3e07-2b4d6e80-91a2-0050569a1b2c';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'restore-test-'));
const bundles = new Map<string, Buffer>();
const requests: Array<{ url: string; auth: string | undefined }> = [];
/** Paths answered with `status` (a "try again later") this many more times before the bundle. */
const flaky = new Map<string, { times: number; status: number }>();
let server: Server;
let url: string;

/** A bundle directory's files → a .tar.gz, SHA256SUMS written first unless given. */
function makeBundle(files: Record<string, Buffer | string>, opts: { sums?: string; extra?: (src: string) => void } = {}): Buffer {
  const src = mkdtempSync(join(dir, 'src-'));
  const root = join(src, `restore-${UUID}`);
  mkdirSync(join(root, 'artifacts'), { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(root, name), data);
  const sums =
    opts.sums ??
    Object.entries(files)
      .map(([n, d]) => `${sha(d)}  ${n}\n`)
      .join('');
  writeFileSync(join(root, 'SHA256SUMS'), sums);
  opts.extra?.(root);
  const out = join(dir, `${randomBytes(4).toString('hex')}.tar`);
  tar.create({ file: out, cwd: src, sync: true, portable: true }, [`restore-${UUID}`]);
  return gzipSync(readFileSync(out));
}

const goodFiles = {
  'RESTORE.md': '# Restore datastore7\n',
  'restore.sh': '#!/bin/sh\necho check first\n',
  'artifacts/vmfs-header-naa.600144f0c0ffee000000000000000001.bin': randomBytes(100_000),
  'artifacts/esx-inventory.txt': 'inventory\n',
};

beforeAll(async () => {
  buildBundle();
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', auth: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'unauthorized', message: 'bad token', requestId: 'r1' } }));
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    const flake = flaky.get(path);
    if (flake && flake.times > 0) {
      flake.times--;
      res
        .writeHead(flake.status, { 'content-type': 'application/json', 'retry-after': '0' })
        .end(JSON.stringify({ error: { code: 'unavailable', message: 'try again', requestId: 'r3' } }));
      return;
    }
    const body = bundles.get(path);
    if (!body) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'not_found', message: 'no such volume', requestId: 'r2' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ ...process.env, CATALOG_URL: url, CATALOG_TOKEN: TOKEN, VMFS_COLLECTOR_CONFIG: join(dir, 'none.json') });

/** Serves a bundle for a volume id and restores it into a fresh dir. */
async function restore(volume: string, body: Buffer, extra: string[] = []) {
  bundles.set(`/v1/volumes/${volume}/restore-bundle`, body);
  const parent = mkdtempSync(join(dir, 'out-'));
  const out = join(parent, 'restored');
  const r = await runCollector(['restore', '--volume', volume, '-o', out, ...extra], env());
  return { ...r, parent, out };
}

describe('restore', () => {
  it('unpacks a good bundle after verifying every file', async () => {
    const r = await restore(UUID, makeBundle(goodFiles), ['--at', '2026-11-01T00:00:00Z']);
    expect(r.code, r.stderr).toBe(0);
    const base = join(r.out, `restore-${UUID}`);
    for (const [name, data] of Object.entries(goodFiles)) expect(sha(readFileSync(join(base, name)))).toBe(sha(data));
    // The count is of the files SHA256SUMS lists and that were checked against it, not of SHA256SUMS too.
    const n = Object.keys(goodFiles).length;
    expect(r.stdout).toContain(`${r.out}: ${n} file(s), every SHA-256 verified against SHA256SUMS\n`);
    expect(r.stdout.split('\n').filter((l) => /^ {2}[0-9a-f]{64} {2}/.test(l))).toHaveLength(n);
    expect(r.stdout).not.toMatch(/ {2}restore-[^ ]+\/SHA256SUMS\n/);
    expect(requests.at(-1)?.url).toBe(`/v1/volumes/${UUID}/restore-bundle?at=2026-11-01T00%3A00%3A00Z`);
    expect(readdirSync(r.parent)).toEqual(['restored']);
  });

  it('retries a 5xx with backoff (--retries) and prints where RESTORE.md is', async () => {
    const volume = '5a1c3e08-2b4d6e80-91a2-0050569a1b2c';
    flaky.set(`/v1/volumes/${volume}/restore-bundle`, { times: 2, status: 503 });
    const r = await restore(volume, makeBundle(goodFiles), ['--retries', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(requests.filter((q) => q.url.startsWith(`/v1/volumes/${volume}/`))).toHaveLength(3);
    expect(r.stdout).toContain(`Next: read ${join(r.out, `restore-${UUID}`, 'RESTORE.md')}.`);

    flaky.set(`/v1/volumes/${volume}/restore-bundle`, { times: 2, status: 503 });
    const out = join(mkdtempSync(join(dir, 'out-')), 'r');
    const once = await runCollector(['restore', '--volume', volume, '-o', out, '--retries', '1'], env());
    expect(once.code).toBe(75);
    expect(once.stderr).toMatch(/HTTP 503/);
  });

  it.each([408, 429])('takes a %i (busy, timed out) for "try again later", not a refusal', async (status) => {
    const volume = `5a1c3e09-2b4d6e80-91a2-0050569a${status}c`;
    flaky.set(`/v1/volumes/${volume}/restore-bundle`, { times: 1, status });
    const r = await restore(volume, makeBundle(goodFiles), ['--retries', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(requests.filter((q) => q.url.startsWith(`/v1/volumes/${volume}/`))).toHaveLength(2);

    flaky.set(`/v1/volumes/${volume}/restore-bundle`, { times: 2, status });
    const out = join(mkdtempSync(join(dir, 'out-')), 'r');
    const once = await runCollector(['restore', '--volume', volume, '-o', out, '--retries', '1'], env());
    expect(once.code, once.stderr).toBe(75);
    expect(once.stderr).toMatch(new RegExp(`HTTP ${status}`));
  });

  it('prints the files with --json', async () => {
    bundles.set('/v1/luns/naa.600144f0c0ffee000000000000000001/restore-bundle', makeBundle(goodFiles));
    const out = join(mkdtempSync(join(dir, 'out-')), 'r');
    const r = await runJson(['restore', '--device', 'naa.600144f0c0ffee000000000000000001', '-o', out, '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verified).toBe(true);
    // `files` are those verified against SHA256SUMS; the list itself is named apart.
    expect(r.json.files.map((f: any) => f.path).sort()).toEqual(
      Object.keys(goodFiles)
        .map((n) => `restore-${UUID}/${n}`)
        .sort(),
    );
    expect(r.json.sha256sums).toBe(`restore-${UUID}/SHA256SUMS`);
  });

  const refusals: Array<[string, () => Buffer, RegExp]> = [
    [
      'a file changed after SHA256SUMS was written',
      () =>
        makeBundle(goodFiles, {
          sums: Object.entries(goodFiles)
            .map(([n, d]) => `${sha(n === 'restore.sh' ? 'evil' : d)}  ${n}\n`)
            .join(''),
        }),
      /does not match/,
    ],
    [
      'a file SHA256SUMS does not list',
      () => makeBundle(goodFiles, { extra: (root) => writeFileSync(join(root, 'artifacts', 'extra.bin'), 'x') }),
      /not listed/,
    ],
    [
      'a listed file that is missing',
      () =>
        makeBundle(goodFiles, {
          sums:
            `${sha('x')}  artifacts/gone.bin\n` +
            Object.entries(goodFiles)
              .map(([n, d]) => `${sha(d)}  ${n}\n`)
              .join(''),
        }),
      /missing/,
    ],
    ['a symlink', () => makeBundle(goodFiles, { extra: (root) => symlinkSync('/etc/passwd', join(root, 'artifacts', 'link')) }), /not a plain file/],
    ['a truncated download', () => makeBundle(goodFiles).subarray(0, 2000), /refused|unexpected end|truncated/i],
    ['no SHA256SUMS', () => gzipSync(Buffer.alloc(1024)), /SHA256SUMS|empty/],
  ];
  for (const [what, body, message] of refusals) {
    it(`refuses ${what}, leaving nothing behind`, async () => {
      const r = await restore(UUID, body());
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(readdirSync(r.parent)).toEqual([]);
    });
  }

  it('refuses a member path that climbs out of the output directory', async () => {
    const h = Buffer.alloc(512);
    h.write('../../escaped.txt', 0);
    h.write('0000644\0', 100);
    h.write('00000000004\0', 124);
    h.write('00000000000\0', 136);
    h[156] = '0'.charCodeAt(0);
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const body = Buffer.concat([h, Buffer.from('evil'), Buffer.alloc(508), Buffer.alloc(1024)]);
    const r = await restore(UUID, gzipSync(body));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unsafe member path/);
    expect(existsSync(join(r.parent, '..', 'escaped.txt'))).toBe(false);
    expect(readdirSync(r.parent)).toEqual([]);
  });

  it('says why in one line when the catalog has no such volume, or the token is wrong', async () => {
    const out = join(mkdtempSync(join(dir, 'out-')), 'r');
    const missing = await runCollector(['restore', '--volume', '00000000-00000000-0000-000000000000', '-o', out], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/HTTP 404 not_found: no such volume/);
    const denied = await runCollector(['restore', '--volume', UUID, '-o', out], { ...env(), CATALOG_TOKEN: 'wrong-token' });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/HTTP 401/);
    expect(denied.stderr).not.toContain('wrong-token');
  });

  it('is a usage error without exactly one of --volume / --device, or with a non-empty output dir', async () => {
    expect((await runCollector(['restore'], env())).code).toBe(64);
    expect((await runCollector(['restore', '--volume', UUID, '--device', 'naa.1'], env())).code).toBe(64);
    const full = mkdtempSync(join(dir, 'full-'));
    writeFileSync(join(full, 'keep'), 'x');
    expect((await runCollector(['restore', '--volume', UUID, '-o', full], env())).code).toBe(64);
  });
});
