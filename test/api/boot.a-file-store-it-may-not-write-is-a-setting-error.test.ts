/**
 * The filesystem store (DATA_DIR/blobs) restored or copied as root, so the catalog's user may
 * not write it: the server started, said ready to nothing but /readyz, and answered every
 * collector's begin 503 'retry later' (EACCES in its log), which collectors spool and send
 * again every run for ever. Now the server and the CLI stop on it as on any DATA_DIR they
 * cannot use, exit 78 in one line naming the directory, its owner and the chown; mended, the
 * catalog serves what it held. The catalog runs as `nobody`, as the systemd unit runs it as its
 * own user; embedded, and PostgreSQL with the file store when TEST_DATABASE_URL is set. Where
 * this test is not root (it cannot start a process as another user) it says so and is skipped.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildVhSf, DEFAULTS } from '../fixtures/vmfs-images.js';
import { openTestCatalogAt, reportMissingService } from '../helpers/catalog.js';
import { createDatabase } from '../helpers/database.js';
import { ingest } from '../helpers/ingest-client.js';
import { ROOT, SERVER_BUNDLE, serverEnv, spawnServer } from '../helpers/spawn-server.js';

const NOBODY = 65534;
const root = process.getuid?.() === 0;
if (!root) console.warn('boot: not root, so no process can be started as another user here: the unwritable-store test is skipped');
const flavours: Array<'embedded' | 'postgres'> = ['embedded'];
if (process.env.TEST_DATABASE_URL) flavours.push('postgres');
else reportMissingService('[unwritable store] PostgreSQL case not run', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid);
}

for (const flavour of flavours)
  describe.skipIf(!root)(`a file store the catalog user may not write [${flavour}]`, () => {
    const base = mkdtempSync(join(tmpdir(), 'vrc-unwritable-store-'));
    chmodSync(base, 0o755);
    const dataDir = join(base, 'data');
    const blobs = join(dataDir, 'blobs');
    const token = `boot-admin-${randomBytes(16).toString('hex')}`;
    const env: Record<string, string> = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: token, HOME: base };
    const asNobody = { uid: NOBODY, gid: NOBODY };
    let drop = async () => {};
    afterAll(async () => {
      await drop();
      rmSync(base, { recursive: true, force: true });
    });
    const run = (argv: string[]) =>
      spawnSync(process.execPath, argv, { cwd: ROOT, env: serverEnv({ ...env, PORT: '0' }), encoding: 'utf8', timeout: 30_000, ...asNobody });

    it('stops the server and the CLI with one line, exit 78', { timeout: 300_000 }, async () => {
      if (flavour === 'postgres') {
        const db = await createDatabase(process.env.TEST_DATABASE_URL!, 'vrc_store_owner');
        env.DATABASE_URL = db.url;
        drop = db.drop;
      }
      // The catalog's data is made in this process (a server's start is not what is tested
      // here), then given to the catalog user, as a restore by root that was chowned back would.
      mkdirSync(dataDir);
      const first = await openTestCatalogAt(env, token);
      let artifactId: string;
      try {
        const committed = await ingest(first, {
          host: 'esx01',
          artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', sourcePath: `/vmfs/volumes/${DEFAULTS.vmfsUuid}/.vh.sf`, bytes: buildVhSf() }],
        });
        artifactId = committed.artifacts[0].id;
      } finally {
        await first.close();
      }
      chownTree(dataDir, NOBODY);

      chownTree(blobs, 0);
      for (const argv of [[SERVER_BUNDLE], [join(ROOT, 'dist/catalog.mjs'), 'tokens', 'list']]) {
        const r = run(argv);
        expect([r.status, r.stdout], r.stderr).toEqual([78, '']);
        expect(r.stderr).toBe(
          `catalog: invalid configuration: DATA_DIR: the file store in ${blobs} cannot be written by this process (${blobs}: owner uid 0, mode 0${(statSync(blobs).mode & 0o777).toString(8)}, this process uid ${NOBODY}): chown -R nobody ${blobs}, or make it writable\n`,
        );
      }
      // One directory of it is enough: the chunks of one prefix.
      chownTree(blobs, NOBODY);
      const prefix = join(blobs, 'chunks', readdirSync(join(blobs, 'chunks'))[0]);
      chownSync(prefix, 0, 0);
      const one = run([SERVER_BUNDLE]);
      expect(one.status, one.stderr).toBe(78);
      expect(one.stderr).toContain(`cannot be written by this process (${prefix}: owner uid 0,`);

      chownSync(prefix, NOBODY, NOBODY);
      const again = await spawnServer(env, 120_000, asNobody);
      try {
        const res = await fetch(`${again.url}/v1/artifacts/${artifactId}/content`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(buildVhSf()))).toBe(true);
      } finally {
        await again.stop();
      }
    });
  });
