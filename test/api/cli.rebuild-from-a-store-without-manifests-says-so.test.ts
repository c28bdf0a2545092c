/**
 * `npm run catalog -- rebuild` against a store that holds no capture manifest (DATA_DIR
 * mistyped or read from another directory than the server's, S3_BUCKET naming another
 * bucket) said only "rebuild: 0 manifests, 0 captures recreated …", exit 0 — after a lost
 * database, an operator read that as the catalog brought back. It now says on stderr which
 * store it read and that it held nothing to rebuild from; a store with manifests says nothing
 * more. Both flavours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { cli, cliEnvOf } from '../helpers/in-process-cli.js';
import { ingest } from '../helpers/ingest-client.js';

describeEachFlavour('rebuild from a store without manifests', (flavour) => {
  let catalog: TestCatalog;
  let closed = false;
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-rebuild-kept-'));
  const empty = mkdtempSync(join(tmpdir(), 'vrc-rebuild-empty-'));
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { env: { DATA_DIR: dataDir } });
    await ingest(catalog, {
      host: 'esx01',
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: new TextEncoder().encode('tank/a@x\t1793491200\t1\n') }],
    });
  });
  afterAll(async () => {
    if (!closed) await catalog?.close();
    for (const d of [dataDir, empty]) rmSync(d, { recursive: true, force: true });
  });

  it('names the store it read and says it held nothing to rebuild from', async () => {
    let env: Record<string, string> = { DATA_DIR: empty };
    let where = join(empty, 'blobs');
    if (flavour === 'postgres-s3') {
      // The catalog's database, another (empty) bucket.
      env = (await cliEnvOf(catalog, flavour, empty)).env;
      const { s3TestConfig } = await import('../helpers/swift.js');
      env.S3_BUCKET = `vrc-no-manifests-${Date.now().toString(36)}`;
      await s3TestConfig()!.createBucket(env.S3_BUCKET);
      where = `bucket ${env.S3_BUCKET} at ${env.S3_ENDPOINT}`;
    }
    const r = await cli(['rebuild'], env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^rebuild: 0 manifests, 0 captures recreated/);
    expect(r.err).toBe(
      `catalog: warning: the store (${where}) holds no capture manifest, so nothing was rebuilt; if the catalog's store is another, set ${flavour === 'postgres-s3' ? 'S3_BUCKET' : 'DATA_DIR'} to it and run rebuild again\n`,
    );
  });

  it('a store with manifests: no warning', async () => {
    const of = await cliEnvOf(catalog, flavour, dataDir);
    closed = of.closed;
    const r = await cli(['rebuild'], of.env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^rebuild: 1 manifests/);
    expect(r.err).toBe('');
  });
});
