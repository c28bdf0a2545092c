/**
 * Store outages: /readyz writes, reads and deletes a probe object and asks the database,
 * and answers 503 when either fails or does not answer in time; begin and commit answer
 * 503 service_unavailable with Retry-After (the collector's "try later") while the S3
 * server is frozen (connections accepted, nothing answered, as under SIGSTOP) or stopped, and a
 * commit retried after the outage goes through.
 *
 * The catalog reaches the S3 server (the test Swift, a bucket of its own) through a TCP relay
 * of this file's own, and it is the relay that freezes (takes connections, passes nothing
 * either way) and stops (closes its port and every connection): the Swift the other suites use
 * is never frozen or stopped, and no Swift of its own has to be started (rings, four servers).
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportMissingService, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, IngestHttpError, prepareCapture, uploadMissing } from '../helpers/ingest-client.js';
import { s3TestConfig } from '../helpers/swift.js';

async function readyz(catalog: TestCatalog): Promise<{ status: number; body: { status: string; checks: Record<string, string> }; ms: number }> {
  const started = performance.now();
  const res = await catalog.request('/readyz', { token: null });
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> }, ms: performance.now() - started };
}

/** The error a protocol step answered (or null when it succeeded). */
async function failure(p: Promise<unknown>): Promise<IngestHttpError | null> {
  return p.then(
    () => null,
    (e: unknown) => {
      if (e instanceof IngestHttpError) return e;
      throw e;
    },
  );
}

function expect503(e: IngestHttpError | null) {
  expect(e, 'the step should have failed').toBeInstanceOf(IngestHttpError);
  expect(e!.status, JSON.stringify(e!.body)).toBe(503);
  expect(e!.code).toBe('service_unavailable');
}

describe('readyz on the filesystem store', () => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded');
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('answers 200 while the store takes a probe object, 503 once it cannot be written', async () => {
    const ok = await readyz(catalog);
    expect(ok.status).toBe(200);
    expect(ok.body.checks).toEqual({ database: 'ok', store: 'ok' });
    // The probe leaves nothing behind.
    const left = [];
    for await (const o of catalog.services.store.list('probes/')) left.push(o.key);
    expect(left).toEqual([]);

    // Mode bits do not stop root, so the store's directory is replaced by a file: nothing
    // can be created under it, while what reads the directory still finds something there.
    const root = join(catalog.dataDir, 'blobs');
    renameSync(root, `${root}.away`);
    writeFileSync(root, 'not a directory\n');
    try {
      const down = await readyz(catalog);
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('not ready');
      expect(down.body.checks.database).toBe('ok');
      expect(down.body.checks.store).toMatch(/^unavailable: /);
    } finally {
      rmSync(root);
      renameSync(`${root}.away`, root);
    }
    expect((await readyz(catalog)).status).toBe(200);
  });
});

/**
 * A TCP relay on 127.0.0.1 to `target` (host:port). freeze(): connections are still taken but
 * nothing passes either way, on them or on those already open (what a SIGSTOPped server does);
 * thaw() lets it all through again; stop(): the port is closed and every connection with it.
 */
async function startRelay(target: { host: string; port: number }) {
  let frozen = false;
  const pairs: Array<{ client: Socket; upstream?: Socket; linked: boolean }> = [];
  const link = (pair: (typeof pairs)[number]) => {
    if (pair.client.destroyed) return;
    pair.upstream ??= connect(target.port, target.host);
    pair.upstream.on('error', () => pair.client.destroy());
    pair.client.on('error', () => pair.upstream?.destroy());
    pair.upstream.on('close', () => pair.client.destroy());
    pair.client.on('close', () => pair.upstream?.destroy());
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
    pair.linked = true;
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    const pair = { client, linked: false };
    pairs.push(pair);
    if (!frozen) link(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze() {
      frozen = true;
      for (const p of pairs) {
        if (!p.linked || !p.upstream) continue;
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.pause();
        p.upstream.pause();
        p.linked = false;
      }
    },
    thaw() {
      frozen = false;
      for (const p of pairs) {
        if (p.linked || p.client.destroyed) continue;
        if (p.upstream) {
          p.client.pipe(p.upstream);
          p.upstream.pipe(p.client);
          p.linked = true;
        } else link(p);
      }
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      await closed;
    },
  };
}

describe('outages of the S3 store (frozen then stopped)', () => {
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  let catalog: TestCatalog | undefined;
  const s3 = s3TestConfig();
  const why = s3 ? null : 'S3_ENDPOINT is not set: no S3 server to relay to (CI starts Swift; see .ci/run)';
  if (why) reportMissingService('[outage tests] not run', why);

  beforeAll(async () => {
    if (!s3) return;
    const bucket = `vrc-outage-${randomBytes(5).toString('hex')}`;
    await s3.createBucket(bucket);
    const target = new URL(s3.endpoint);
    relay = await startRelay({ host: target.hostname, port: Number(target.port || 80) });
    catalog = await startTestCatalog('embedded', {
      env: {
        S3_BUCKET: bucket,
        S3_ENDPOINT: relay.url,
        S3_REGION: s3.region,
        S3_FORCE_PATH_STYLE: 'true',
        // Short, so a frozen server costs this test seconds: 1 s of silence, 2 tries.
        S3_TIMEOUT_MS: '1000',
        S3_MAX_ATTEMPTS: '2',
        READY_TIMEOUT_MS: '3000',
      },
    });
  }, 200_000);

  afterAll(async () => {
    relay?.thaw();
    await catalog?.close();
    await relay?.stop();
  }, 60_000);

  const bytes = (tag: string) => new TextEncoder().encode(`tank/${tag}@daily\t1793491200\t1\n`);

  it('frozen: readyz, begin and commit answer 503 with Retry-After; the commit goes through once it thaws', async () => {
    if (!catalog) {
      console.warn(`skipped: ${why}`);
      return;
    }
    expect((await readyz(catalog)).status).toBe(200);
    await ingest(catalog, { host: 'esx-outage', artifacts: [{ kind: 'zfs-snapshots', fileName: 'a.txt', bytes: bytes('a') }] });
    const pending = prepareCapture({ host: 'esx-outage', artifacts: [{ kind: 'zfs-snapshots', fileName: 'b.txt', bytes: bytes('b') }] });
    await uploadMissing(catalog, pending, await begin(catalog, pending.request));

    relay!.freeze();
    try {
      const down = await readyz(catalog);
      expect(down.status).toBe(503);
      expect(down.body.checks.store).toMatch(/^unavailable: /);
      expect(down.body.checks.database).toBe('ok');

      const fresh = prepareCapture({ host: 'esx-outage', artifacts: [{ kind: 'zfs-snapshots', fileName: 'c.txt', bytes: bytes('c') }] });
      let started = performance.now();
      const res = await catalog.request('/v1/captures', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(fresh.request),
      });
      const beginMs = performance.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');

      started = performance.now();
      expect503(await failure(commit(catalog, pending.request.captureId)));
      console.log(
        `frozen S3: readyz 503 in ${down.ms.toFixed(0)} ms, begin 503 in ${beginMs.toFixed(0)} ms, commit 503 in ${(performance.now() - started).toFixed(0)} ms`,
      );
    } finally {
      relay!.thaw();
    }
    expect((await readyz(catalog)).status).toBe(200);
    expect((await commit(catalog, pending.request.captureId)).state).toBe('committed');
  }, 120_000);

  it('stopped: readyz, begin and commit answer 503 with Retry-After', async () => {
    if (!catalog || !relay) {
      console.warn(`skipped: ${why}`);
      return;
    }
    const pending = prepareCapture({ host: 'esx-outage', artifacts: [{ kind: 'zfs-snapshots', fileName: 'd.txt', bytes: bytes('d') }] });
    await uploadMissing(catalog, pending, await begin(catalog, pending.request));
    await relay.stop();

    const down = await readyz(catalog);
    expect(down.status).toBe(503);
    expect(down.body.checks.store).toMatch(/^unavailable: /);
    const fresh = prepareCapture({ host: 'esx-outage', artifacts: [{ kind: 'zfs-snapshots', fileName: 'e.txt', bytes: bytes('e') }] });
    const res = await catalog.request('/v1/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fresh.request) });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect503(await failure(commit(catalog, pending.request.captureId)));
  }, 120_000);
});
