/**
 * The early work (api/ingest/arrived.ts) that cannot get the shared memory to assemble an
 * artifact in (a SharedArrayBuffer of up to 64 MiB, refused with a RangeError when the process
 * is short of memory) leaves that artifact to its commit: the commit answers as it would have,
 * where the artifact's outcome was never settled (its commit waited for ever) and the lane's
 * rejection went unhandled, which ends the process. The real server runs as a child whose
 * SharedArrayBuffer refuses a MiB or more (a module loaded before it, --require).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { serverChildEnv, startServerChild, type ServerChild } from '../helpers/server-child.js';
import { begin, commit, prepareCapture, remoteCatalog, sendChunks } from '../helpers/ingest-client.js';

const SHORT_OF_MEMORY = `globalThis.SharedArrayBuffer = new Proxy(SharedArrayBuffer, {
  construct(target, args) {
    if (args[0] >= 1024 * 1024) throw new RangeError('Array buffer allocation failed');
    return Reflect.construct(target, args);
  },
});
`;

describe('captures: early parse without a window leaves the artifact to its commit', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-no-window-'));
  const token = `no-window-admin-${randomBytes(16).toString('hex')}`;
  let server: ServerChild | undefined;
  beforeAll(async () => {
    const preload = join(dataDir, 'short-of-memory.cjs');
    writeFileSync(preload, SHORT_OF_MEMORY);
    server = await startServerChild({ ...(await serverChildEnv(join(dataDir, 'data'), token)), NODE_OPTIONS: `--require ${preload}` });
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('commits the artifact as it would have', { timeout: 60_000 }, async () => {
    const catalog = remoteCatalog(server!.url, token);
    const p = prepareCapture({
      host: 'esx-short',
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'lun0.hex',
          device: '/dev/disks/naa.600144f0c0ffee000000000000000055',
          bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', noiseSeed: 55 }),
          gzip: true,
        },
      ],
    });
    const missing = [...new Set((await begin(catalog, p.request)).missing.map((m) => m.sha256))];
    await sendChunks(catalog, p, missing);
    const done = await commit(catalog, p.request.captureId);
    expect(done.artifacts.map((a) => a.parseStatus)).toEqual(['ok']);
  });
});
