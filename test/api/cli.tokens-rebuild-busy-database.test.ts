/**
 * `npm run catalog -- …`: usage errors in one line, tokens create/list/revoke, a clear message
 * while a running server holds the embedded database, `drop` of an open capture, and `rebuild`
 * after the database directory is deleted giving the same search answers as before. Where the
 * process is what is tested (exit statuses of usage errors, a server process holding the
 * database) the CLI runs as a real process (dist/catalog.mjs, which that script runs;
 * test/helpers/build-once.ts builds it before any suite); the commands that only read and
 * write the catalog run in this process (api/cli.ts runCli), as do the catalogs the rebuild
 * compares.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestCatalogAt, type TestCatalog } from '../helpers/catalog.js';
import { cli } from '../helpers/in-process-cli.js';
import { ROOT, serverEnv } from '../helpers/spawn-server.js';
import { serverChildEnv, startServerChild, type ServerChild } from '../helpers/server-child.js';
import { begin, ingest, prepareCapture, remoteCatalog } from '../helpers/ingest-client.js';
import { buildVhSf, buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with async spawn (the test process must stay responsive). */
function catalogCli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/catalog.mjs'), ...args], {
      cwd: ROOT,
      env: serverEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const oneLine = (s: string) => s.trim().split('\n').length === 1;

/** `catalog args` run in this process (runCli), in the shape of a process run. */
async function catalogHere(args: string[], env: Record<string, string>): Promise<Run> {
  const r = await cli(args, env);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

const BAD_USAGE = [
  ['bogus'],
  ['tokens', 'create', '--name', 'x'],
  ['tokens', 'create', '--role', 'collector', '--name', 'x'],
  ['reindex', '--kind', 'nope'],
  ['tokens', 'list', '--wat'],
];

describe('catalog CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-cli-'));
  const env = { DATA_DIR: dataDir };
  const bootstrap = `cli-admin-${randomBytes(16).toString('hex')}`;
  const servers: ServerChild[] = [];
  let openCapture = '';
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints help, and one-line errors for bad usage', { timeout: 300_000 }, async () => {
    // None of these opens the database: they run at once.
    const [help, none, ...bad] = await Promise.all([catalogCli(['--help'], env), catalogCli([], env), ...BAD_USAGE.map((args) => catalogCli(args, env))]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/tokens create --role/);
    // Each status the commands end with, as `check` (3) and a busy embedded database (75) use them.
    expect(help.stdout).toMatch(
      /exit status: 0 done · 1 failed · 2 done in part: rebuild left manifests or artifacts out,\s+reindex could not read artifacts \(each named\) · 3 check or maintenance found problems\s+\(lost or corrupt chunks\) · 64 usage · 75 the embedded\s+database is in use by a running server or another admin command · 78 a setting is invalid\s+\(S3_BUCKET without credentials too\), DATA_DIR's database or file store cannot be opened or\s+written by this user \(the message says what to do: chown it, or rebuild a damaged one\), or a\s+later release of the catalog migrated the database/,
    );
    expect(none.code).toBe(64);
    for (const [i, args] of BAD_USAGE.entries()) {
      const r = bad[i];
      expect(r.code, args.join(' ')).toBe(64);
      expect(oneLine(r.stderr), r.stderr).toBe(true);
      expect(r.stderr).toMatch(/^catalog: /);
    }
  });

  let adminToken = '';
  it('creates, lists and revokes tokens', { timeout: 300_000 }, async () => {
    const created = await catalogHere(['tokens', 'create', '--role', 'admin', '--name', 'ops', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const admin = JSON.parse(created.stdout) as { id: string; token: string; role: string };
    expect(admin).toMatchObject({ role: 'admin', token: expect.stringMatching(/^vrc_/) });
    adminToken = admin.token;
    const collector = JSON.parse(
      (await catalogHere(['tokens', 'create', '--role', 'collector', '--host', 'esx01', '--name', 'esx01 cron', '--json'], env)).stdout,
    ) as { id: string };
    const human = await catalogHere(['tokens', 'create', '--role', 'operator', '--name', 'desk'], env);
    expect(human.stdout).toMatch(/shown once/);

    const revoke = await catalogHere(['tokens', 'revoke', collector.id], env);
    expect(revoke.code).toBe(0);
    const list = JSON.parse((await catalogHere(['tokens', 'list', '--json'], env)).stdout) as {
      tokens: Array<{ id: string; role: string; host: string | null; revokedAt: string | null }>;
    };
    expect(list.tokens).toHaveLength(3);
    expect(list.tokens.find((t) => t.id === collector.id)).toMatchObject({ role: 'collector', host: 'esx01', revokedAt: expect.any(String) });
    expect(JSON.stringify(list)).not.toContain(admin.token);
    const unknown = await catalogHere(['tokens', 'revoke', 'no-such-id'], env);
    expect(unknown.code).toBe(1);
    expect(oneLine(unknown.stderr)).toBe(true);
  });

  it('says clearly that a running server holds the embedded database', { timeout: 300_000 }, async () => {
    const server = await startServerChild(await serverChildEnv(dataDir, bootstrap));
    servers.push(server);
    // The token the CLI created works against the server.
    const tokensRes = await fetch(`${server.url}/v1/tokens`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(tokensRes.status).toBe(200);
    // Each finds the server holding the database: they run at once.
    const [busy, revoke, maintenance, check] = await Promise.all(
      [['tokens', 'list'], ['tokens', 'revoke', 'some-id'], ['maintenance'], ['check']].map((args) => catalogCli(args, env)),
    );
    expect(busy.code).toBe(75);
    expect(oneLine(busy.stderr)).toBe(true);
    expect(busy.stderr).toContain('in use by a running catalog server');
    expect(busy.stderr).toContain(`pid ${server.pid}`);
    expect(busy.stderr).toContain('GET /v1/tokens');
    // Each command names its own route.
    expect(revoke.code).toBe(75);
    expect(revoke.stderr).toContain('DELETE /v1/tokens/{id}');
    expect(maintenance.code).toBe(75);
    expect(maintenance.stderr).toContain('runs this pass itself (first a minute after its start, then hourly)');
    expect(maintenance.stderr).not.toContain('use nothing');
    expect(check.code).toBe(75);
    expect(check.stderr).toContain('POST /v1/admin/check');
    // A capture begun over the protocol and never committed, for `drop` once the server is gone.
    const p = prepareCapture({ host: 'esx-open', artifacts: [{ kind: 'vmfs-undelete', fileName: 'u.tar', bytes: randomBytes(2000) }] });
    await begin(remoteCatalog(server.url, bootstrap), p.request);
    openCapture = p.request.captureId;
    await server.kill('SIGTERM');
  });

  it('drops an open capture; a second drop is one line and exit 1, no id a usage error', { timeout: 300_000 }, async () => {
    const dropped = await catalogHere(['drop', openCapture, '--json'], env);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(JSON.parse(dropped.stdout)).toEqual({ captureId: openCapture, host: 'esx-open', chunkRecords: 0, dropped: true });
    const again = await catalogHere(['drop', openCapture], env);
    expect(again.code).toBe(1);
    expect(oneLine(again.stderr)).toBe(true);
    expect(again.stderr).toContain(`no open capture ${openCapture}`);
    const usage = await catalogHere(['drop'], env);
    expect(usage.code).toBe(64);
    expect(oneLine(usage.stderr)).toBe(true);
  });

  it('rebuild after the database is deleted gives the same search answers', { timeout: 600_000 }, async () => {
    const catalog = await openTestCatalogAt({ DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: bootstrap }, bootstrap);
    const t0 = Date.parse('2026-10-01T02:00:00Z');
    await ingest(catalog, {
      host: 'esx01',
      collectedAt: new Date(t0),
      artifacts: [
        { kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' }), gzip: true },
        { kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ lvmMajor: 3 }) },
      ],
    });
    await ingest(catalog, {
      host: 'sol01',
      hostKind: 'solaris',
      collectedAt: new Date(t0 + 3600_000),
      artifacts: [
        {
          kind: 'iscsitgt-smf',
          fileName: 'iscsitgt.xml',
          bytes: new TextEncoder().encode(
            iscsitgtExport({
              targets: [
                {
                  name: 'lun0',
                  iqn: 'iqn.1986-03.com.sun:02:cli-lun0',
                  luns: [{ lun: 0, guid: DEFAULTS.deviceId.slice(4), backingStore: '/dev/zvol/rdsk/tank/cli/lun0', blocks: 0x6400000 }],
                },
              ],
            }),
          ),
        },
      ],
    });
    const queries = [
      DEFAULTS.vmfsUuid,
      DEFAULTS.deviceId.toUpperCase(),
      'datastore',
      'iqn.1986-03.com.sun:02:cli-lun0',
      '/dev/zvol/rdsk/tank/cli/lun0',
      'esx01',
    ];
    const answers = async (c: TestCatalog) => {
      const out: unknown[] = [];
      for (const q of queries) {
        const r = await c.request(`/v1/search?q=${encodeURIComponent(q)}`);
        expect(r.status).toBe(200);
        out.push(await r.json());
      }
      out.push(await (await c.request(`/v1/volumes/${DEFAULTS.vmfsUuid}`)).json());
      return out;
    };
    const before = await answers(catalog);
    expect(JSON.stringify(before[0])).toContain(DEFAULTS.vmfsUuid);
    await catalog.close();

    rmSync(join(dataDir, 'pg'), { recursive: true, force: true });
    const rebuilt = await catalogHere(['rebuild', '--json'], env);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ manifests: 2, captures: 2, artifacts: 3, errors: [] });

    const after = await openTestCatalogAt({ DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: bootstrap }, bootstrap);
    try {
      expect(await answers(after)).toEqual(before);
    } finally {
      await after.close();
    }
  });
});
