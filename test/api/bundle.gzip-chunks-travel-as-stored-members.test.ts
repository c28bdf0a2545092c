/**
 * A restore bundle carries each gzip-stored chunk as the gzip member the store holds (the
 * .tar.gz is a series of members), checked against its SHA-256 first: `gzip -t` and GNU
 * tar take the bundle, every stored chunk object is in it byte for byte, and the dump
 * unpacks to its original bytes. A stored object with bytes after its gzip data travels
 * inflated and compressed again (the bundle stays clean); one that inflates to other bytes,
 * in the only dump of the device, has the bundle refused (502) before any byte is sent.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunkKey } from '../../api/store/types.js';
import { CHUNK_SIZE } from '../../formats/protocol.js';
import { buildVhSf, buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const VMFS_UUID = '5b000000-11111111-2222-001b21000011';
const DEVICE = 'naa.600144f0beefbeefbeefbeefbeef0011';

/** A 2.5 MiB header dump: noise in every chunk (so each stored member differs), the VMFS structures at the start. */
function dump(): Uint8Array {
  const bytes = new Uint8Array(2.5 * CHUNK_SIZE);
  for (let off = 0; off < bytes.length; off += CHUNK_SIZE) bytes.set(randomBytes(32 * 1024), off);
  bytes.set(
    buildVmfsDisk({
      lvmMajor: 3,
      scheme: 'mbr',
      dumpLength: 'legacy',
      deviceId: DEVICE,
      lun: 1,
      vmfsUuid: VMFS_UUID,
      segmentUuid: '5b000000-11111111-2222-001b21000012',
    }),
    0,
  );
  return bytes;
}

describeEachFlavour('restore bundle with gzip-stored chunks', (flavour) => {
  let catalog: TestCatalog;
  let bytes: Uint8Array;
  let chunkShas: string[];
  const temps: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    bytes = dump();
    chunkShas = [];
    for (let off = 0; off < bytes.length; off += CHUNK_SIZE) chunkShas.push(sha256(bytes.subarray(off, off + CHUNK_SIZE)));
    await ingest(catalog, {
      host: 'esx-gz',
      collectedAt: new Date('2026-03-01T00:00:00Z'),
      artifacts: [
        { kind: 'vmfs-header', fileName: `${DEVICE}.hex`, device: DEVICE, bytes, gzip: true },
        {
          kind: 'vh-sf',
          fileName: 'gz.vh.sf',
          bytes: buildVhSf({ lvmMajor: 3, vmfsUuid: VMFS_UUID, segmentUuid: '5b000000-11111111-2222-001b21000012', label: 'gz' }),
        },
      ],
    });
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  /** The bundle's bytes, checked by `gzip -t`, and the dump as GNU tar unpacks it. */
  async function fetchBundle(): Promise<{ archive: Buffer; unpackedDump: Buffer }> {
    const res = await catalog.request(`/v1/volumes/${VMFS_UUID}/restore-bundle`);
    expect(res.status).toBe(200);
    const archive = Buffer.from(await res.arrayBuffer());
    const dir = mkdtempSync(join(tmpdir(), 'vrc-bundle-gz-'));
    temps.push(dir);
    const file = join(dir, 'bundle.tar.gz');
    writeFileSync(file, archive);
    // gzip -t exits non-zero on trailing garbage or a bad member, and warns on stderr.
    const tested = await run('gzip', ['-t', file]);
    expect(tested.stderr).toBe('');
    await run('tar', ['-xzf', file, '-C', dir]);
    const [root] = readdirSync(dir).filter((n) => n !== 'bundle.tar.gz');
    const found = await run('find', [join(dir, root), '-name', `${DEVICE}.hex`]);
    return { archive, unpackedDump: readFileSync(found.stdout.trim()) };
  }

  it('holds every stored chunk object byte for byte, and unpacks to the original dump', async () => {
    const { archive, unpackedDump } = await fetchBundle();
    expect(sha256(unpackedDump)).toBe(sha256(bytes));
    for (const sha of chunkShas) {
      const stored = await catalog.services.store.getBytes(chunkKey(sha));
      expect(stored).not.toBeNull();
      expect(archive.indexOf(Buffer.from(stored!))).toBeGreaterThanOrEqual(0);
    }
  });

  it('sends a stored object with bytes after its gzip data inflated and compressed again', async () => {
    const key = chunkKey(chunkShas[1]);
    const stored = Buffer.from((await catalog.services.store.getBytes(key))!);
    await catalog.services.store.put(key, Buffer.concat([stored, Buffer.alloc(8)]));
    try {
      const { archive, unpackedDump } = await fetchBundle();
      expect(sha256(unpackedDump)).toBe(sha256(bytes));
      expect(archive.indexOf(Buffer.concat([stored, Buffer.alloc(8)]))).toBe(-1);
    } finally {
      await catalog.services.store.put(key, stored);
    }
  });

  it('refuses the bundle up front when the only dump has a stored chunk that inflates to other bytes', async () => {
    const key = chunkKey(chunkShas[2]);
    const stored = Buffer.from((await catalog.services.store.getBytes(key))!);
    const other = Buffer.from(bytes.subarray(2 * CHUNK_SIZE));
    other[100] ^= 0xff;
    await catalog.services.store.put(key, gzipSync(other));
    try {
      // Every chunk is checked before the answer starts (api/bundle/intact.ts): a JSON 502, not a tar cut short.
      const res = await catalog.request(`/v1/volumes/${VMFS_UUID}/restore-bundle`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('chunk_corrupt');
    } finally {
      await catalog.services.store.delete(`quarantine/${chunkShas[2]}`);
      await catalog.services.store.put(key, stored);
    }
  });
});
