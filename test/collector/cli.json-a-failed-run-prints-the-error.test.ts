/**
 * With `--json`, a collect run that fails prints, as every other failure does, the error in the
 * catalog API's shape — `{"error":{"code","message"}}`, code by exit status as README
 * ("Scripts") lists them — in its one JSON document, beside the run's report: the catalog out
 * of reach (75, `unreachable`), the token refused (1, `failed`), nothing read (1), a spooled
 * capture the catalog refuses (65, `rejected`). Those printed the report alone, so a script
 * reading `.error` took a spooled or refused run for a success. A run done in part (2) is a
 * result, as the catalog CLI's: its report carries no error. Without --json, stdout keeps the
 * summary and stderr its lines. Against a real catalog on a socket (embedded flavour): the
 * collector is the process under test, so the catalog runs in this process.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { MiB, stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { buildBundle, freePort, runCollector, runJson } from './run-collector.js';

const TOKEN = 'collector-json-failure-bootstrap-token-0123456789';

// Each test has a spool of its own: they run at once.
describe.concurrent('collect --json on a failed run', { timeout: 120_000 }, () => {
  let server: TestCatalog;
  let host: EsxiHost;
  let n = 0;

  beforeAll(async () => {
    buildBundle();
    [server, host] = await Promise.all([
      startTestCatalog('embedded', { listen: true, env: { CATALOG_BOOTSTRAP_TOKEN: TOKEN } }),
      stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500ee', index: 5, sizeBytes: 4 * MiB }]),
    ]);
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    host?.cleanup();
  });

  /** collect's arguments with a spool of its own (`spool` names one to share), against `url`. */
  const args = (url: string, spool = join(host.dir, `spool-${n++}`), ...more: string[]) => [
    'collect',
    '--root',
    host.root,
    '--host',
    'esxi-json',
    '--spool',
    spool,
    '--url',
    url,
    '--retries',
    '0',
    ...more,
  ];
  const env = (token = TOKEN) => ({ ...host.env, CATALOG_TOKEN: token });
  const down = async () => `http://127.0.0.1:${await freePort()}`;

  it('the catalog out of reach: exit 75, error unreachable, and the report', async () => {
    const [r, human] = await Promise.all([runJson([...args(await down()), '--json'], env()), runCollector(args(await down()), env())]);
    expect(r.code, r.stderr).toBe(75);
    expect(r.json.error).toEqual({
      code: 'unreachable',
      message: expect.stringMatching(/^1 capture\(s\) waiting in the spool for the next run: catalog unreachable: .*ECONNREFUSED/),
    });
    expect(r.json.captures[0].state).toBe('spooled');
    expect(r.json.exitCode).toBe(75);
    // Human mode: the summary, no JSON.
    expect(human.code).toBe(75);
    expect(human.stdout).toMatch(/^esxi-json \(esxi\) capture \S+: spooled — catalog unreachable: /m);
    expect(human.stdout).not.toContain('"error"');
  });

  it('the token refused: exit 1, error failed naming why', async () => {
    const r = await runJson([...args(server.url), '--json'], env('not-a-token-the-catalog-knows-0123456789'));
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.error).toEqual({ code: 'failed', message: expect.stringMatching(/^the catalog refused the token \(HTTP 401\)/) });
    expect(r.json.captures[0].state).toBe('spooled');
    // Its one line on stderr, as without --json.
    expect(r.stderr).toContain(`error: ${r.json.error.message}\n`);
  });

  it('nothing read: exit 1, error failed naming the host and the reason', async () => {
    // An empty root and no host commands on PATH: only what --device names is read, and it is not there.
    const empty = mkdtempSync(join(host.dir, 'empty-root-'));
    const r = await runJson(
      [
        'collect',
        '--json',
        '--root',
        empty,
        '--host',
        'esxi-json',
        '--spool',
        join(host.dir, `spool-${n++}`),
        '--url',
        server.url,
        '--device',
        '/missing-disk',
      ],
      { ...env(), PATH: join(empty, 'no-commands') },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.error.code).toBe('failed');
    expect(r.json.error.message).toMatch(/^esxi-json: nothing could be read \(\/missing-disk: ENOENT/);
    expect(r.stderr).toContain(`error: ${r.json.error.message}\n`);
  });

  it('a spooled capture the catalog refuses: exit 65, error rejected naming it; done in part (2): no error', async () => {
    const spool = join(host.dir, `spool-${n++}`);
    const waiting = await runJson([...args(await down(), spool), '--json'], env());
    expect(waiting.code, waiting.stderr).toBe(75);
    // An artifact kind the catalog does not know, as a spool entry from an incompatible collector would carry: 400, never taken.
    const bad = waiting.json.captures[0].captureId;
    const file = join(spool, 'captures', `${bad}.json`);
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    entry.begin.artifacts[0].kind = 'not-a-kind';
    writeFileSync(file, JSON.stringify(entry));
    const r = await runJson([...args(server.url, spool), '--json'], env());
    expect(r.code, r.stderr).toBe(65);
    expect(r.json.error).toEqual({ code: 'rejected', message: `set aside in rejected/ (collector spool list --spool ${spool}): ${bad}` });
    expect(r.json.captures[0].state).toBe('committed');

    // One artifact read, one not (a file that is not there): done in part, a result without an error.
    const partial = await runJson([...args(server.url, spool), '--json', '--file', `vh-sf:${join(host.dir, 'no-such.vh.sf')}`], env());
    expect(partial.code, partial.stderr).toBe(2);
    expect(partial.json.error).toBeUndefined();
    expect(partial.json.captures[0].state).toBe('committed');
  });

  it('a run that succeeds carries no error', async () => {
    const r = await runJson([...args(server.url), '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.error).toBeUndefined();
  });
});
