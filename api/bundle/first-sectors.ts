/**
 * The first sector of MBR header dumps, for api/bundle/extents.ts: restore.sh restores an MBR
 * table by copying the dump's whole first sector, so when several hosts dumped one device the
 * sectors they saved are compared, not only the VMFS entry the rows hold. Read from the store
 * (the first 512 bytes of the first chunk, verified as every read of a chunk is) only for the
 * dumps that can take part in a dispute: intact MBR dumps of a device that more than one host
 * dumped. A sector that cannot be read counts as `unreadable`, which differs from any hash:
 * the operator then picks the host, rather than the bundle guessing.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../store/types.js';
import { artifactBytes } from '../read/content.js';
import { intact } from './choose.js';
import type { ExtentRow } from './types.js';

export async function firstSectorsOf(store: BlobStore, headers: readonly ExtentRow[]): Promise<Map<string, string>> {
  const hostsOf = new Map<string, Set<string>>();
  for (const h of headers) if (h.deviceId && intact(h)) hostsOf.set(h.deviceId, (hostsOf.get(h.deviceId) ?? new Set()).add(h.artifact.host));
  const wanted = new Map<string, ExtentRow>();
  for (const h of headers) if (h.deviceId && h.scheme === 'mbr' && intact(h) && hostsOf.get(h.deviceId)!.size > 1) wanted.set(h.artifact.id, h);
  const out = new Map<string, string>();
  await Promise.all(
    [...wanted.values()].map(async (h) => {
      try {
        const hash = createHash('sha256');
        let read = 0;
        for await (const piece of artifactBytes(store, h.artifact.chunks, { start: 0, end: Math.min(512, h.artifact.size) - 1 })) {
          hash.update(piece);
          read += piece.length;
        }
        out.set(h.artifact.id, read === 512 ? hash.digest('hex') : 'unreadable');
      } catch {
        out.set(h.artifact.id, 'unreadable');
      }
    }),
  );
  return out;
}
