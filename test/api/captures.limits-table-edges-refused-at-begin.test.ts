/**
 * The limits table (api/ingest/limits.ts) at its edges: what begin accepts at a limit
 * commits, and one past it is refused at begin with 400 naming the limit. Host and file
 * names that commit used to refuse (an invalid store key, ENAMETOOLONG) are refused at
 * begin; the largest accepted names commit on both flavours.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, ingest, prepareCapture, sha256Hex } from '../helpers/ingest-client.js';
import type { BeginRequest } from '../../formats/protocol.js';
import { LIMITS } from '../../api/ingest/limits.js';
import { createLogger, type Logger } from '../../api/logger.js';

const MiB = 1024 * 1024;
const ONE = new Uint8Array([1]);
const ONE_SHA = sha256Hex(ONE);
const MD5_OF_ONE = 'VaVACD9ck3OKSoqKSC8rvg==';

type Artifact = BeginRequest['artifacts'][number];

function request(artifacts: Artifact[], host = 'esx-edges'): BeginRequest {
  const r = prepareCapture({ host, artifacts: [] }).request;
  return { ...r, artifacts };
}

/** An artifact of `n` one-byte chunks, all the same chunk (so it needs one upload at most). */
function oneByteChunks(n: number, fileName = 'ones.bin'): Artifact {
  return {
    kind: 'unknown',
    fileName,
    sourcePath: '/ones',
    size: n,
    sha256: sha256Hex(new Uint8Array(n).fill(1)),
    chunks: Array.from({ length: n }, () => ({ sha256: ONE_SHA, size: 1, storedMd5: MD5_OF_ONE })),
  };
}

/** An artifact declaring `mib` whole 1 MiB chunks (never uploaded: begin is what is tested). */
function mibChunks(mib: number, fileName: string): Artifact {
  const sha = sha256Hex(new Uint8Array(MiB));
  return {
    kind: 'unknown',
    fileName,
    sourcePath: '/big',
    size: mib * MiB,
    sha256: sha256Hex(new TextEncoder().encode(fileName)),
    chunks: Array.from({ length: mib }, () => ({ sha256: sha, size: MiB, storedMd5: 'tKVfYbcB2LZ1rrXbAA3c0A==' })),
  };
}

describeEachFlavour('captures: the limits table at its edges', (flavour) => {
  let catalog: TestCatalog;
  const logged: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    // A 5xx is a bug here: keep its log line for the failure message.
    (catalog.services as { logger: Logger }).logger = createLogger('error', (l) => logged.push(l));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  async function post(
    req: unknown,
  ): Promise<{ status: number; body: { error?: { code: string; message: string; requestId: string; details?: { limit?: string } } }; bytes: number }> {
    const res = await catalog.request('/v1/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), bytes: text.length };
  }

  async function expectLimit(req: unknown, limit: string) {
    const { status, body } = await post(req);
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body.error?.code).toBe('bad_request');
    expect(body.error?.details?.limit).toBe(limit);
    expect(body.error?.message).toContain(`limit ${limit}`);
    expect(body.error?.requestId).toBeTruthy();
  }

  it('refuses host names a store key or a DNS name cannot be, at begin', async () => {
    const bad = [
      '.',
      '..',
      '.hidden',
      'esx(01)',
      'esx*',
      'esx"01',
      "esx'01",
      'esx 01',
      'esx/01',
      'a..b',
      'a.',
      'ésx01',
      'x'.repeat(64),
      `${'a'.repeat(63)}.`.repeat(4).slice(0, 254),
      'esx\u000001',
      'esx\n01',
      '',
    ];
    for (const name of bad) await expectLimit(request([], name), 'hostNameBytes');
  });

  it('refuses empty, over-long and control-character file names, at begin', async () => {
    const bad = ['a\u0000b', 'tab\there', 'x'.repeat(256), '', 'new\nline', 'lone\ud800half'];
    for (const fileName of bad) await expectLimit(request([{ ...oneByteChunks(1), fileName }]), 'fileNameBytes');
  });

  it('keeps any other file name as the collector saw it, and offers it safely', async () => {
    // Names from the field: a dot file, spaces and parentheses, quotes, non-ASCII, path-like and shell-like names.
    const names = ['.', '..', '.vh.sf', 'a/b', 'ü.bin', 'esx(01).bin', 'a*b', 'backup (1).hex', "it's.hex", '$(touch x).hex', '../../etc/passwd'];
    const done = await ingest(catalog, {
      host: 'esx03',
      artifacts: names.map((fileName, i) => ({ kind: 'unknown' as const, fileName, bytes: new Uint8Array([i]) })),
    });
    expect(done.state).toBe('committed');
    for (const a of done.artifacts) {
      const meta = (await (await catalog.request(`/v1/artifacts/${a.id}`)).json()) as { fileName: string };
      expect(names).toContain(meta.fileName);
      const res = await catalog.request(`/v1/artifacts/${a.id}/content`);
      await res.arrayBuffer();
      // The plain filename= fallback holds no path separator, quote or control character.
      const plain = /filename="([^"]*)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? '';
      expect(plain, meta.fileName).not.toMatch(/[/\\"\u0000-\u001f]/);
    }
  });

  it('refuses NUL or control bytes in sourcePath, device and collector version', async () => {
    await expectLimit(request([{ ...oneByteChunks(1), sourcePath: '/dev/\u0000sdb' }]), 'sourcePathBytes');
    await expectLimit(request([{ ...oneByteChunks(1), device: 'naa.\u0007' }]), 'deviceBytes');
    await expectLimit({ ...request([]), collector: { version: '1\u0000' } }, 'collectorVersionBytes');
    await expectLimit(request([{ ...oneByteChunks(1), sourcePath: `/${'p'.repeat(LIMITS.sourcePathBytes)}` }]), 'sourcePathBytes');
  });

  it('commits a capture whose host and file names sit at the length limits', async () => {
    logged.length = 0;
    try {
      await commitsAtTheLimits();
    } catch (e) {
      throw new Error(`${String(e)}\n${logged.join('\n')}`);
    }
  });

  async function commitsAtTheLimits() {
    const host = [63, 63, 63, 61].map((n, i) => String.fromCharCode(97 + i).repeat(n)).join('.');
    expect(host.length).toBe(LIMITS.hostNameBytes);
    const fileName = `${'f'.repeat(LIMITS.fileNameBytes - 4)}.bin`;
    const done = await ingest(catalog, {
      host,
      artifacts: [{ kind: 'zfs-snapshots', fileName, bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
    expect(done.state).toBe('committed');
    expect(done.manifestKey).toContain(host);
    const odd = await ingest(catalog, { host: 'esx_01.example-site.local', artifacts: [{ kind: 'unknown', fileName: 'a+b=c@d,e~f.vh.sf', bytes: ONE }] });
    expect(odd.state).toBe('committed');
  }

  it('takes chunksPerArtifact chunks and refuses one more', async () => {
    expect((await post(request([oneByteChunks(LIMITS.chunksPerArtifact)]))).status).toBe(200);
    await expectLimit(request([oneByteChunks(LIMITS.chunksPerArtifact + 1)]), 'chunksPerArtifact');
  });

  it('takes chunksPerCapture chunks and refuses one more', async () => {
    const per = LIMITS.chunksPerArtifact;
    const full = Array.from({ length: LIMITS.chunksPerCapture / per }, (_, i) => oneByteChunks(per, `part${i}.bin`));
    expect((await post(request(full))).status).toBe(200);
    await expectLimit(request([...full, oneByteChunks(1, 'one-more.bin')]), 'chunksPerCapture');
  });

  it('takes captureBytes declared bytes and refuses one byte more', async () => {
    const n = LIMITS.captureBytes / LIMITS.artifactBytes;
    const full = Array.from({ length: n }, (_, i) => mibChunks(LIMITS.artifactBytes / MiB, `lun${i}.bin`));
    expect((await post(request(full))).status).toBe(200);
    await expectLimit(request([...full, oneByteChunks(1, 'one-more.bin')]), 'captureBytes');
  });

  it('refuses a body over requestBodyBytes with 413 before parsing it', async () => {
    // Only spaces: parsed, it would be a 400 (not JSON); the 413 shows the size is checked first.
    const piece = new Uint8Array(MiB).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent > LIMITS.requestBodyBytes) {
          ctrl.close();
          return;
        }
        ctrl.enqueue(piece);
        sent += piece.length;
      },
    });
    const res = await catalog.request('/v1/captures', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('answers a 20,000-chunk begin, and refuses 100,000 one-byte chunks with a small answer', async () => {
    // 20,000 distinct chunks, all missing: begin hands out 20,000 upload URLs.
    const chunks = Array.from({ length: 20_000 }, (_, i) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, i);
      return { sha256: sha256Hex(b), size: 4, storedMd5: 'AAAAAAAAAAAAAAAAAAAAAA==' };
    });
    const artifacts = Array.from({ length: 5 }, (_, k) => ({
      kind: 'unknown' as const,
      fileName: `part${k}.bin`,
      sourcePath: `/p${k}`,
      size: 4 * 4000,
      sha256: sha256Hex(new Uint8Array([k])),
      chunks: chunks.slice(k * 4000, (k + 1) * 4000),
    }));
    let started = performance.now();
    const answer = await begin(catalog, request(artifacts));
    const beginMs = performance.now() - started;
    expect(answer.missing).toHaveLength(20_000);

    const huge = request(Array.from({ length: 25 }, (_, i) => oneByteChunks(4000, `h${i}.bin`)));
    const body = JSON.stringify(huge);
    started = performance.now();
    const { status, body: refused, bytes } = await post(huge);
    const refusedMs = performance.now() - started;
    expect(status).toBe(400);
    expect(refused.error?.details?.limit).toBe('chunksPerCapture');
    expect(bytes).toBeLessThan(1024);
    // Printed, not asserted (no timed assertions): the numbers the limits are about.
    console.log(
      `[${flavour}] begin of 20,000 missing chunks: ${beginMs.toFixed(0)} ms; 100,000 one-byte chunks (${(body.length / 1e6).toFixed(1)} MB body) refused in ${refusedMs.toFixed(0)} ms with a ${bytes}-byte answer`,
    );
  });
});
