/**
 * `npm start` and `npm run catalog` against a PostgreSQL they cannot use end with one line
 * on stderr that says why — the driver's or the server's own words — and a non-zero exit.
 * They said `Failed query: CREATE SCHEMA IF NOT EXISTS "drizzle"` and a second line
 * `params: `, whether the server was down, the database missing or the host unknown; a %
 * in the URL that starts no escape said `URI malformed`. Neither line may show the password.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, SERVER_BUNDLE, serverEnv } from '../helpers/spawn-server.js';

const CLI_BUNDLE = join(ROOT, 'dist/catalog.mjs');
const dataDir = mkdtempSync(join(tmpdir(), 'vrc-boot-db-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function run(bundle: string, args: string[], databaseUrl: string) {
  return spawnSync(process.execPath, [bundle, ...args], {
    env: serverEnv({ DATA_DIR: dataDir, PORT: '0', DATABASE_URL: databaseUrl, DATABASE_CONNECT_TIMEOUT: '5' }),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const PASSWORD = 'pw-do-not-print-4711';

// A server that does not answer (refused, a name that does not resolve) is said as such around
// the driver's words; the rest (a database that does not exist) is the driver's words alone.
describe.each([
  [
    'npm start',
    SERVER_BUNDLE,
    [],
    'catalog: cannot start: ',
    ['the database or the store does not answer \\(', '\\); check that it runs and that DATABASE_URL or S3_ENDPOINT names it'],
  ],
  [
    'npm run catalog -- tokens list',
    CLI_BUNDLE,
    ['tokens', 'list'],
    'catalog: ',
    ["the catalog's database or store is out of reach \\(", '\\); run this again once it answers'],
  ],
])('%s', (_name, bundle, args, prefix, [down, downEnd]) => {
  it('names a refused connection', { timeout: 60_000 }, () => {
    const r = run(bundle, args, `postgres://postgres:${PASSWORD}@127.0.0.1:1/catalog`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${prefix}${down}connect ECONNREFUSED 127\\.0\\.0\\.1:1 \\(at [^\\n]+\\)${downEnd}\\n$`));
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });

  it('names a host that does not resolve', { timeout: 60_000 }, () => {
    const r = run(bundle, args, `postgres://postgres:${PASSWORD}@catalog-db.invalid:5432/catalog`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${prefix}${down}getaddrinfo [A-Z_]+ catalog-db\\.invalid[^\\n]*${downEnd}\\n$`));
    expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('names a database that does not exist, as the server says it', { timeout: 60_000 }, () => {
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = '/vrc_no_such_database';
    const r = run(bundle, args, url.href);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${prefix}database "vrc_no_such_database" does not exist \\(at [^\\n]+\\)\\n$`));
  });

  it('refuses a % that starts no escape as a setting, without echoing the URL', { timeout: 60_000 }, () => {
    const r = run(bundle, args, `postgres://postgres:${PASSWORD}%zz@127.0.0.1:1/catalog`);
    expect(r.status).toBe(78);
    expect(r.stderr).toBe('catalog: invalid configuration: DATABASE_URL: holds a % that starts no %XX escape (write a % in the password as %25)\n');
  });
});
