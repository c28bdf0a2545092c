/**
 * Against the real catalog (`npm start`'s server, embedded flavour): a spooled capture
 * the catalog refuses as malformed (400: an artifact kind it does not know, as a spool
 * entry from an incompatible collector would carry) moves to <spool>/rejected/<id>/ with
 * the catalog's message, status and request id; the capture collected in the same run is
 * delivered; the run exits 65. Once mended, `collector spool resend` delivers it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { MiB, stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { buildBundle, freePort, runCollector, runJson } from './run-collector.js';

const TOKEN = 'collector-rejected-bootstrap-token-0123456789';
const SERVER_START_MS = 180_000;

describe('a refused capture against the real catalog', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: ServerProcess;
  let host: EsxiHost;
  let spool: string;

  const env = () => ({ ...host.env, CATALOG_TOKEN: TOKEN });
  const collect = (url: string) =>
    runJson(['collect', '--json', '--root', host.root, '--host', 'esxi-rejected', '--spool', spool, '--url', url, '--retries', '0'], env());
  const manifests = () => {
    const dir = join(dataDir, 'blobs', 'manifests', 'esxi-rejected');
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  };

  beforeAll(async () => {
    buildBundle();
    dataDir = mkdtempSync(join(tmpdir(), 'collector-rejected-data-'));
    server = await spawnServer({ DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: TOKEN, PORT: String(await freePort()) }, SERVER_START_MS);
    host = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500dd', index: 3, sizeBytes: 16 * MiB }]);
    spool = join(host.dir, 'spool');
  }, SERVER_START_MS + 60_000);

  afterAll(async () => {
    await server?.stop();
    host?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('sets it aside with the catalog’s answer, delivers the next capture, exits 65, and resends it once mended', async () => {
    // The catalog is out of reach: the capture waits in the spool.
    const down = await collect(`http://127.0.0.1:${await freePort()}`);
    expect(down.code, down.stderr).toBe(75);
    const bad = down.json.captures[0].captureId;
    const file = join(spool, 'captures', `${bad}.json`);
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    const kind = entry.begin.artifacts[0].kind;
    entry.begin.artifacts[0].kind = 'not-a-kind';
    writeFileSync(file, JSON.stringify(entry));

    const r = await collect(server.url);
    expect(r.code, r.stderr).toBe(65);
    const good = r.json.captures[0].captureId;
    expect(r.json.captures[0].state).toBe('committed');
    expect(manifests()).toEqual([`${good}.json.gz`]);
    expect(r.json.spool).toMatchObject({ delivered: [], pending: 0, rejected: [bad], setAside: 1 });
    expect(r.stderr).toMatch(new RegExp(`^rejected: capture ${bad} of esxi-rejected .*HTTP 400 .*\\(request [\\w.-]+\\)`, 'm'));
    expect(readdirSync(join(spool, 'captures'))).toEqual([]);
    const why = JSON.parse(readFileSync(join(spool, 'rejected', bad, 'rejection.json'), 'utf8'));
    expect(why.status).toBe(400);
    expect(why.requestId).toMatch(/^[\w.-]+$/);
    expect(why.message).toMatch(/begin capture .*HTTP 400/);

    // Mended in place, resent by the operator.
    const kept = join(spool, 'rejected', bad, 'capture.json');
    const mended = JSON.parse(readFileSync(kept, 'utf8'));
    mended.begin.artifacts[0].kind = kind;
    writeFileSync(kept, JSON.stringify(mended));
    const resent = await runCollector(['spool', 'resend', bad, '--spool', spool, '--url', server.url, '--retries', '0'], env());
    expect(resent.code, resent.stderr).toBe(0);
    expect(manifests()).toEqual([`${bad}.json.gz`, `${good}.json.gz`].sort());
    expect(readdirSync(join(spool, 'rejected'))).toEqual([]);
  });
});
