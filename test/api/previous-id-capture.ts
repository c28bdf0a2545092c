/**
 * Captures that declare unchanged artifacts by `previous`, as the collector does, for the tests
 * of begin's `previous` ids and of its `Prefer: commit-if-complete`.
 */
import type { ArtifactDeclaration, BeginBody, BeginRequest } from '../../formats/protocol.js';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { uuidv7, type TestArtifact } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

/**
 * A header dump of LUN `lun` with a chunk of its own (filled with `fill`), so each LUN adds one distinct chunk.
 * A small data offset puts the FS descriptor near 4 MiB (20 MiB at the default offset).
 */
export function lunHeader(lun: number, fill: number): TestArtifact {
  const bytes = buildVmfsDisk({ dumpLength: 'descriptor', dataOffset: 0x200000 });
  bytes.fill(fill, bytes.length - 2 * MiB, bytes.length - MiB);
  return { kind: 'vmfs-header', fileName: `lun${lun}.bin`, sourcePath: `/dev/disks/lun${lun}`, device: `naa.600144f000000000000000000000000${lun}`, bytes };
}

/** `request` as a new capture, artifact i declared by `previous: ids[i]` (null: by its chunk list). */
export function referencing(request: BeginRequest, ids: Array<string | null>): BeginBody {
  return {
    ...request,
    captureId: uuidv7(),
    artifacts: request.artifacts.map(({ chunks, ...a }, i): ArtifactDeclaration => (ids[i] ? { ...a, previous: ids[i] } : { ...a, chunks })),
  };
}
