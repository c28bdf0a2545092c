/**
 * An embedded database the catalog's user may not write — restored or copied as root (its
 * files root's), or made read-only — while DATA_DIR itself is writable: PGlite only says it
 * failed to initialize, and the server and the CLI called the database damaged and said to
 * move it away and rebuild, which loses what a rebuild does not bring back (audit rows, event
 * acknowledgements) for a database that is whole. Now both say which file this user may not
 * write and how to mend it, exit 78, and once mended the catalog starts on it with its capture.
 * The catalog runs as `nobody`, as the systemd unit runs it as its own user; where this test
 * is not root (it cannot start a process as another user) it says so and is skipped.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildVhSf, DEFAULTS } from '../fixtures/vmfs-images.js';
import { ingest, remoteCatalog } from '../helpers/ingest-client.js';
import { ROOT, SERVER_BUNDLE, serverEnv, spawnServer } from '../helpers/spawn-server.js';

const NOBODY = 65534;
const root = process.getuid?.() === 0;
if (!root) console.warn('boot: not root, so no process can be started as another user here: the unwritable-database test is skipped');

/** chown -R (or chmod -R a-w / u+w) over the database directory. */
function walk(path: string, each: (path: string) => void): void {
  each(path);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name), each);
}

describe.skipIf(!root)('an embedded database the catalog user may not write', () => {
  const base = mkdtempSync(join(tmpdir(), 'vrc-unwritable-'));
  chmodSync(base, 0o755);
  const dataDir = join(base, 'data');
  const pgDir = join(dataDir, 'pg');
  const token = `boot-admin-${randomBytes(16).toString('hex')}`;
  const env = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: token };
  const asNobody = { uid: NOBODY, gid: NOBODY };
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const run = (argv: string[]) =>
    spawnSync(process.execPath, argv, { cwd: ROOT, env: serverEnv({ ...env, PORT: '0', HOME: base }), encoding: 'utf8', timeout: 60_000, ...asNobody });

  it('is said as such with the way out, exit 78, not called damaged', { timeout: 300_000 }, async () => {
    spawnSync('mkdir', ['-p', dataDir]);
    chownSync(dataDir, NOBODY, NOBODY);
    const first = await spawnServer({ ...env, HOME: base }, 120_000, asNobody);
    let artifactId: string;
    try {
      const committed = await ingest(remoteCatalog(first.url, token), {
        host: 'esx01',
        artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', sourcePath: `/vmfs/volumes/${DEFAULTS.vmfsUuid}/.vh.sf`, bytes: buildVhSf() }],
      });
      artifactId = committed.artifacts[0].id;
    } finally {
      await first.stop();
    }

    // Restored as root: every file of it root's.
    walk(pgDir, (p) => chownSync(p, 0, 0));
    const mode = (statSync(pgDir).mode & 0o777).toString(8);
    for (const argv of [[SERVER_BUNDLE], [join(ROOT, 'dist/catalog.mjs'), 'tokens', 'list']]) {
      const r = run(argv);
      expect(r.status, r.stderr).toBe(78);
      expect(r.stderr).toBe(
        `catalog: the embedded database in ${pgDir} cannot be written by this process (${pgDir}: owner uid 0, mode 0${mode}, this process uid ${NOBODY}); ` +
          `it is not damaged and nothing was changed: give it to the user the catalog runs as (chown -R nobody ${pgDir}) or make it writable, and start again\n`,
      );
    }
    // Its own, but read-only (one file is enough).
    walk(pgDir, (p) => chownSync(p, NOBODY, NOBODY));
    chmodSync(join(pgDir, 'global', 'pg_control'), 0o400);
    const ro = run([SERVER_BUNDLE]);
    expect(ro.status, ro.stderr).toBe(78);
    expect(ro.stderr).toContain(`cannot be written by this process (${join(pgDir, 'global', 'pg_control')}: owner uid ${NOBODY}, mode 0400,`);
    expect(ro.stderr).not.toContain('rebuild');

    // Mended, it is the same catalog.
    chmodSync(join(pgDir, 'global', 'pg_control'), 0o600);
    const again = await spawnServer({ ...env, HOME: base }, 120_000, asNobody);
    try {
      const res = await fetch(`${again.url}/v1/artifacts/${artifactId}/content`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(buildVhSf()))).toBe(true);
    } finally {
      await again.stop();
    }
  });
});
