/**
 * A new embedded catalog on a filesystem too full for it (DATA_DIR on a nearly full disk): its
 * initdb stopped half-way, and the server and the CLI said the database was damaged —
 * 'cannot be opened (PG_VERSION is missing); move it away (mv …) and run … rebuild' — which
 * needs the same room again. Now both say the database cannot be made, how much room there is,
 * and keep nothing of the half-made directory. Needs a small filesystem: a 12 MiB tmpfs,
 * mounted as root; where mounting is not allowed the test says so and is skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'vrc-full-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mountPoint], { encoding: 'utf8' }).status === 0;
if (!mounted) console.warn('boot: no 12 MiB tmpfs could be mounted here (not root, or no mount in this container): the full-disk test is skipped');
afterAll(() => {
  if (mounted) spawnSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

describe.skipIf(!mounted)('a new embedded catalog on a filesystem too full for it', () => {
  const expected = new RegExp(
    `^catalog: the embedded database cannot be made in ${mountPoint}/data/pg \\(its filesystem has \\d+\\.\\d MiB free; a new catalog takes about 40 MiB\\); ` +
      'nothing of it was kept: free room there, or set DATA_DIR to another filesystem, and start again\\n$',
  );
  it.each([
    ['npm run catalog -- tokens list', [join(ROOT, 'dist/catalog.mjs'), 'tokens', 'list']],
    ['npm start', [SERVER_BUNDLE]],
  ])('%s says so, exit 78, and leaves no half-made database', { timeout: 120_000 }, (_name, argv) => {
    const dataDir = join(mountPoint, 'data');
    const r = spawnSync(process.execPath, argv, { cwd: ROOT, env: serverEnv({ DATA_DIR: dataDir, PORT: '0' }), encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(78);
    expect(r.stderr).toMatch(expected);
    expect(r.stderr).not.toContain('rebuild');
    expect(readdirSync(dataDir).filter((f) => f !== 'catalog.lock')).toEqual([]);
  });
});
