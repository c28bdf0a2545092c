/**
 * Unpacking a restore bundle onto a disk that cannot take it (full, read-only, a file where a
 * directory should be) is said as the disk's failure — `cannot write PATH: ENOSPC: …` — where
 * it read `bundle refused: ENOSPC: no space left on device, write`, sending the operator after
 * the catalog's bundle instead of the disk. A bundle whose members collide (a file inside a file
 * it holds, a file where it made a directory) is still refused as the bundle's fault.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unpackBundle } from '../../collector/commands/restore.js';

const dir = mkdtempSync(join(tmpdir(), 'vrc-unpack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A ustar archive of the given members in order ('0' file, '5' directory), unzipped. */
function tarOf(members: Array<{ path: string; type: '0' | '5'; data?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.from(m.data ?? '');
    const h = Buffer.alloc(512);
    h.write(m.path, 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(m.type, 156);
    h.write('ustar\u000000', 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

async function* streamOf(b: Buffer): AsyncIterable<Buffer> {
  yield b;
}

const unpack = (members: Parameters<typeof tarOf>[0], into: string) =>
  unpackBundle(streamOf(tarOf(members)), into).then(
    () => 'unpacked',
    (e: Error) => e.message,
  );

describe('unpacking a restore bundle', () => {
  it('names the disk, not the bundle, when the output cannot be written', async () => {
    // A file where the output directory should be: every write under it fails, as on a full or read-only disk.
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    const said = await unpack([{ path: 'vmfs-restore-x/RESTORE.md', type: '0', data: '# restore\n' }], notADir);
    expect(said).toMatch(new RegExp(`^cannot write ${notADir}/vmfs-restore-x/RESTORE\\.md: ENOTDIR: .* \\(nothing of the bundle is kept\\)$`));
    expect(said).not.toContain('bundle refused');
  });

  it('still refuses a bundle whose members collide, as the bundle', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    expect(
      await unpack(
        [
          { path: 'b/a', type: '0', data: 'x' },
          { path: 'b/a/c', type: '0', data: 'y' },
        ],
        out,
      ),
    ).toBe('bundle refused: b/a/c is inside b/a, a file of the bundle');
    expect(
      await unpack(
        [
          { path: 'd/e/f', type: '0', data: 'x' },
          { path: 'd/e', type: '0', data: 'y' },
        ],
        mkdtempSync(join(dir, 'out-')),
      ),
    ).toBe('bundle refused: d/e appears twice');
    expect(
      await unpack(
        [
          { path: 'g', type: '5' },
          { path: 'g', type: '0', data: 'y' },
        ],
        mkdtempSync(join(dir, 'out-')),
      ),
    ).toBe('bundle refused: g appears twice');
    expect(await unpack([{ path: 'h/i', type: '0', data: 'ok' }], mkdtempSync(join(dir, 'out-')))).toBe('unpacked');
  });
});
