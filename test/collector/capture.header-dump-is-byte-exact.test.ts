/**
 * A header dump is the device's bytes, exactly, for as long as the plan says:
 * through the FS descriptor (partition + dataOffset + 0x200000 + 4 KiB), on GPT and
 * MBR disks; `--header-bytes` overrides; a backing store without VMFS is skipped.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureArtifact } from '../../collector/capture.js';
import { ChunkStager } from '../../collector/chunker.js';
import { LocalAccess } from '../../collector/host-access.js';
import type { PlannedArtifact } from '../../collector/discover.js';
import { writeVmfsDevice } from '../fixtures/vmfs-images.js';

const MiB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), 'capture-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const plan = (path: string, onlyIfVmfs = false): PlannedArtifact => ({
  kind: 'vmfs-header',
  fileName: 'd.bin',
  sourcePath: path,
  device: null,
  why: 'test',
  read: { path, length: 'header' },
  onlyIfVmfs,
});

describe('header dumps', () => {
  for (const [name, opts] of [
    ['gpt', { lvmMajor: 5, scheme: 'gpt' }],
    ['mbr', { lvmMajor: 3, scheme: 'mbr' }],
  ] as const) {
    it(`are byte-exact and reach the FS descriptor on ${name}`, async () => {
      mkdirSync(join(root, 'dev'), { recursive: true });
      const layout = await writeVmfsDevice(join(root, 'dev', name), { ...opts, noiseSeed: 3 }, 64 * MiB);
      const r = await captureArtifact(new LocalAccess(root), plan(`/dev/${name}`), new ChunkStager(null, new Set()), { headerBytes: null });
      expect(r.status, r.error ?? '').toBe('ok');
      expect(r.size).toBe(layout.descriptorDumpLength);
      expect(r.sha256).toBe(sha(readFileSync(join(root, 'dev', name)).subarray(0, r.size)));
    });
  }

  it('take --header-bytes as given', async () => {
    await writeVmfsDevice(join(root, 'dev', 'long'), { lvmMajor: 5 }, 64 * MiB);
    const r = await captureArtifact(new LocalAccess(root), plan('/dev/long'), new ChunkStager(null, new Set()), { headerBytes: 40 * MiB + 512 });
    expect(r.size).toBe(40 * MiB + 512);
    expect(r.chunks).toBe(41);
    expect(r.sha256).toBe(sha(readFileSync(join(root, 'dev', 'long')).subarray(0, r.size)));
  });

  it('skip a backing store that holds no VMFS, and report an unreadable device as an error', async () => {
    writeFileSync(join(root, 'dev', 'zeros'), Buffer.alloc(4 * MiB));
    const skipped = await captureArtifact(new LocalAccess(root), plan('/dev/zeros', true), new ChunkStager(null, new Set()), { headerBytes: null });
    expect(skipped.status).toBe('skipped');
    const missing = await captureArtifact(new LocalAccess(root), plan('/dev/nothing'), new ChunkStager(null, new Set()), { headerBytes: null });
    expect([missing.status, missing.error]).toEqual(['error', expect.stringMatching(/ENOENT/)]);
  });
});
