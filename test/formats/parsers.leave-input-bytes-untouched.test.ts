/**
 * Parsers read, never write: a GPT header CRC check once zeroed the CRC field in the
 * caller's Buffer (Buffer#slice is a view), corrupting the dump the collector uploads.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { parsePartitionTable, parseVmfsHeader, planHeaderDump, detect } from '../../formats/index.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

it.each([
  ['gpt', 2048, 5],
  ['mbr', 128, 3],
] as const)('%s disk at LBA %i (LVM %i): the Buffer is byte-identical after every parser', (scheme, startLba, lvmMajor) => {
  const image = Buffer.from(buildVmfsDisk({ scheme, startLba, lvmMajor, dumpLength: 3 * 1024 * 1024 } as never));
  const before = sha(image);
  parsePartitionTable(image);
  parseVmfsHeader(image);
  planHeaderDump(image);
  detect(image, 'vmfs-header-backup-sdb.hex');
  expect(sha(image)).toBe(before);
});
