/**
 * A host never wedges behind a capture the catalog will not take. "Try again later"
 * (network errors, 429, 503 with Retry-After, a 500 the first times) keeps the capture
 * pending and exits 75; "never" (a 4xx other than 401/403/408/429, or the same 500 on 3
 * runs spanning 6 h or more) moves it to <spool>/rejected/<id>/ with the catalog's
 * message, status and request id, while the captures behind it still go out, and the
 * run exits 65. Attempts spanning hours are made by rewriting the times recorded in the
 * spool entry, never by sleeping.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { MiB, stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { startScriptedCatalog, type ScriptedCatalog } from './scripted-catalog.js';
import { buildBundle, freePort, runCollector, runJson } from './run-collector.js';

const TOKEN = 'scripted-catalog-token-0123456789';
const HOUR = 3_600_000;

// Each test has a scripted catalog and a spool of its own: they run at once (the collector runs
// are processes; the host they read is staged once and only read).
describe.concurrent('try later or never', { timeout: 90_000 }, () => {
  let host: EsxiHost;
  let n = 0;

  beforeAll(async () => {
    buildBundle();
    host = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500cc', index: 4, sizeBytes: 4 * MiB }]);
  });
  afterAll(async () => {
    host?.cleanup();
  });

  /** A scripted catalog and a spool for one test, and the commands and views of them it uses. */
  async function fresh() {
    const cat: ScriptedCatalog = await startScriptedCatalog(TOKEN);
    onTestFinished(() => cat.close());
    const spool = join(host.dir, `spool-never-${n++}`);
    const collect = (url = cat.url, retries = '0') =>
      runJson(['collect', '--json', '--root', host.root, '--host', 'esxi-never', '--spool', spool, '--url', url, '--retries', retries], {
        ...host.env,
        CATALOG_TOKEN: TOKEN,
      });
    const spoolCmd = (...args: string[]) =>
      runCollector(['spool', '--spool', spool, '--url', cat.url, '--retries', '0', ...args], { ...host.env, CATALOG_TOKEN: TOKEN });
    const pending = () =>
      readdirSync(join(spool, 'captures'))
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5));
    const rejected = () => readdirSync(join(spool, 'rejected'));
    const entryFile = (id: string) => join(spool, 'captures', `${id}.json`);
    const entry = (id: string) => JSON.parse(readFileSync(entryFile(id), 'utf8'));
    const commits = () => cat.log.filter((l) => l.endsWith('/commit')).map((l) => l.split('/')[3]);

    /** One capture left pending by a run that could not reach any catalog. */
    const pendingCapture = async (): Promise<string> => {
      const down = `http://127.0.0.1:${await freePort()}`;
      const r = await collect(down);
      expect(r.code, r.stderr).toBe(75);
      return r.json.captures[0].captureId;
    };
    return { cat, spool, collect, spoolCmd, pending, rejected, entryFile, entry, commits, pendingCapture };
  }

  it('keeps a capture pending on network errors (exit 75) and records the attempt', async () => {
    const { pending, rejected, entry, pendingCapture } = await fresh();
    const id = await pendingCapture();
    expect(pending()).toEqual([id]);
    const [attempt] = entry(id).attempts;
    expect(attempt.status).toBe(0);
    expect(attempt.error).toMatch(/ECONNREFUSED/);
    expect(rejected()).toEqual([]);
  });

  it('sets a capture the catalog refuses (422) aside, delivers the next one, and exits 65', async () => {
    const { cat, spool, collect, pending, rejected, commits, pendingCapture } = await fresh();
    const first = await pendingCapture();
    cat.mode.answer = ({ captureId }) =>
      captureId === first
        ? { status: 422, body: { error: { code: 'unprocessable', message: 'artifact 0 cannot be stored', requestId: 'req-422-abc' } } }
        : undefined;
    const r = await collect();
    expect(r.code, r.stderr).toBe(65);
    const second = r.json.captures[0].captureId;
    expect(r.json.captures[0].state).toBe('committed');
    expect(commits()).toEqual([second]);
    expect(r.json.spool.rejected).toEqual([first]);
    // One clear line about it, naming the capture, the catalog's answer and where it went.
    const lines = r.stderr.split('\n').filter((l) => l.includes(first));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^rejected: capture .* HTTP 422 unprocessable: artifact 0 cannot be stored \(request req-422-abc\).*rejected\//);
    expect(pending()).toEqual([]);
    expect(rejected()).toEqual([first]);
    const why = JSON.parse(readFileSync(join(spool, 'rejected', first, 'rejection.json'), 'utf8'));
    expect(why).toMatchObject({ status: 422, requestId: 'req-422-abc' });
    expect(why.message).toMatch(/artifact 0 cannot be stored/);
    expect(JSON.parse(readFileSync(join(spool, 'rejected', first, 'capture.json'), 'utf8')).begin.captureId).toBe(first);

    // The next run has nothing to say about it but the count, and exits 0.
    const next = await collect();
    expect(next.code, next.stderr).toBe(0);
    expect(next.json.spool.setAside).toBe(1);
    expect(next.stderr).not.toMatch(/rejected:/);
  });

  it('retries 429 and takes it as "later", never as a refusal', async () => {
    const { cat, collect, rejected } = await fresh();
    let left = 1;
    cat.mode.answer = ({ path }) =>
      path === '/v1/captures' && left-- > 0
        ? { status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'too_many', message: 'slow down' } } }
        : undefined;
    const r = await collect(cat.url, '1');
    expect(r.code, r.stderr).toBe(0);
    expect(cat.log.filter((l) => l === 'POST /v1/captures')).toHaveLength(2);
    expect(rejected()).toEqual([]);
  });

  it('keeps a capture pending on 503 with a Retry-After past what a run waits (exit 75), and delivers it once the catalog is back', async () => {
    const { cat, collect, pending, rejected, entry, commits } = await fresh();
    cat.mode.answer = () => ({
      status: 503,
      headers: { 'retry-after': '3600' },
      body: { error: { code: 'unavailable', message: 'store unavailable', requestId: 'req-503' } },
    });
    const r = await collect(cat.url, '3');
    expect(r.code, r.stderr).toBe(75);
    const id = r.json.captures[0].captureId;
    expect(r.json.captures[0].state).toBe('spooled');
    expect(r.json.captures[0].error).toMatch(/HTTP 503 .*retry after 3600 s/);
    // Not retried within the run: an hour is for the next run to wait.
    expect(cat.log).toEqual(['POST /v1/captures']);
    expect(entry(id).attempts).toMatchObject([{ status: 503, requestId: 'req-503' }]);

    cat.mode.answer = undefined;
    const again = await collect();
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.spool.delivered).toEqual([id]);
    expect(commits()).toEqual([id, again.json.captures[0].captureId]);
    expect(pending()).toEqual([]);
    expect(rejected()).toEqual([]);
  });

  it('does not let a capture the catalog fails on (500) hold up later ones, and gives up on it after 3 runs over 6 h', async () => {
    const { cat, spool, collect, pending, rejected, entryFile, entry, commits, pendingCapture } = await fresh();
    const stuck = await pendingCapture();
    cat.mode.answer = ({ captureId }) =>
      captureId === stuck ? { status: 500, body: { error: { code: 'internal', message: 'internal error', requestId: 'req-500' } } } : undefined;

    const r1 = await collect();
    expect(r1.code, r1.stderr).toBe(75);
    expect(r1.json.captures[0].state).toBe('committed');
    expect(pending()).toEqual([stuck]);
    expect(entry(stuck).attempts.map((a: { status: number }) => a.status)).toEqual([0, 500]);

    // Three 500s, but within 2 h: still "later".
    const e = entry(stuck);
    e.attempts = [
      { ...e.attempts[1], at: new Date(Date.now() - 2 * HOUR).toISOString() },
      { ...e.attempts[1], at: new Date(Date.now() - HOUR).toISOString() },
    ];
    writeFileSync(entryFile(stuck), JSON.stringify(e));
    const r2 = await collect();
    expect(r2.code, r2.stderr).toBe(75);
    expect(pending()).toEqual([stuck]);
    expect(entry(stuck).attempts).toHaveLength(3);

    // The first of them 7 h ago: the third run over 6 h gives up.
    const e2 = entry(stuck);
    e2.attempts[0].at = new Date(Date.now() - 7 * HOUR).toISOString();
    writeFileSync(entryFile(stuck), JSON.stringify(e2));
    const r3 = await collect();
    expect(r3.code, r3.stderr).toBe(65);
    expect(r3.json.spool.rejected).toEqual([stuck]);
    expect(r3.json.captures[0].state).toBe('committed');
    expect(pending()).toEqual([]);
    expect(rejected()).toEqual([stuck]);
    const why = JSON.parse(readFileSync(join(spool, 'rejected', stuck, 'rejection.json'), 'utf8'));
    expect(why).toMatchObject({ status: 500, requestId: 'req-500' });
    expect(why.message).toMatch(/HTTP 500 on 4 runs since/);
    expect(commits()).toHaveLength(3);
  });

  it('never gives up while the catalog answers 500 to every capture (an outage, not the capture)', async () => {
    const { cat, collect, pending, rejected, entryFile, entry, pendingCapture } = await fresh();
    const stuck = await pendingCapture();
    cat.mode.answer = ({ path }) => (path === '/v1/captures' ? { status: 500, body: { error: { code: 'internal', message: 'internal error' } } } : undefined);
    const e = entry(stuck);
    e.attempts = [7, 3].map((h) => ({ at: new Date(Date.now() - h * HOUR).toISOString(), status: 500, error: 'HTTP 500 internal: internal error' }));
    writeFileSync(entryFile(stuck), JSON.stringify(e));
    const r = await collect();
    expect(r.code, r.stderr).toBe(75);
    expect(r.json.captures[0].state).toBe('spooled');
    expect(pending().sort()).toEqual([stuck, r.json.captures[0].captureId].sort());
    expect(entry(stuck).attempts).toHaveLength(3);
    expect(rejected()).toEqual([]);
  });

  it('keeps everything spooled when the URL does not lead to the catalog (404 at begin), says so once, and exits 1', async () => {
    const { cat, collect, pending, rejected, pendingCapture } = await fresh();
    const first = await pendingCapture();
    const r = await collect(`${cat.url}/not-the-api`);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.match(/the catalog URL does not lead to its API \(HTTP 404\)/g)).toHaveLength(1);
    expect(r.json.captures[0].state).toBe('spooled');
    expect(pending().sort()).toEqual([first, r.json.captures[0].captureId].sort());
    expect(rejected()).toEqual([]);
  });

  it('opens a capture again when its commit finds it gone (404) and commits it', async () => {
    const { cat, collect, rejected, commits } = await fresh();
    let left = 1;
    cat.mode.answer = ({ path }) =>
      path.endsWith('/commit') && left-- > 0 ? { status: 404, body: { error: { code: 'not_found', message: 'no open capture' } } } : undefined;
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    expect(cat.log.filter((l) => l === 'POST /v1/captures')).toHaveLength(2);
    expect(commits()).toHaveLength(2);
    expect(rejected()).toEqual([]);
  });

  it('lists, resends and drops spooled captures', async () => {
    const { cat, spool, collect, spoolCmd, pending, rejected, commits, pendingCapture } = await fresh();
    const refused = await pendingCapture();
    cat.mode.answer = ({ captureId }) =>
      captureId === refused ? { status: 400, body: { error: { code: 'bad_request', message: 'bad host name', requestId: 'req-400' } } } : undefined;
    expect((await collect()).code).toBe(65);
    const waiting = await pendingCapture();

    const list = await spoolCmd('list', '--json');
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.spool).toBe(spool);
    expect(listed.captures.map((c: { id: string; state: string }) => [c.id, c.state])).toEqual([
      [waiting, 'pending'],
      [refused, 'rejected'],
    ]);
    for (const c of listed.captures) {
      expect(c.host).toBe('esxi-never');
      expect(Date.parse(c.collectedAt)).not.toBeNaN();
      expect(c.artifacts).toBeGreaterThan(0);
      expect(c.size).toBeGreaterThan(MiB);
    }
    expect(listed.captures[0]).toMatchObject({ attempts: 1, rejection: null });
    // What was wrong with the catalog, as the run said it, not the request it happened on.
    expect(listed.captures[0].lastError).toMatch(
      /^catalog unreachable: nothing listens on 127\.0\.0\.1:\d+ \(connect ECONNREFUSED [^)]*\): the catalog is not running there, or that is not its port — check --url, CATALOG_URL or the config file's "catalogUrl"$/,
    );
    expect(listed.captures[1]).toMatchObject({ attempts: 2, rejection: { status: 400, requestId: 'req-400' } });
    expect(listed.captures[1].lastError).toMatch(/bad host name/);
    // A rejected capture keeps its staged chunks for a resend (command output cannot be re-read).
    expect(listed.captures[1].spoolBytes).toBeGreaterThan(0);

    const human = await spoolCmd('list');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^pending capture ${waiting} of esxi-never, .*ECONNREFUSED`, 'm'));
    expect(human.stdout).toMatch(new RegExp(`^rejected capture ${refused} of esxi-never, .*bad host name`, 'm'));

    // Still refused: back to rejected/, exit 65.
    const again = await spoolCmd('resend', refused);
    expect(again.code, again.stderr).toBe(65);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(rejected()).toEqual([refused]);

    // The catalog takes it now (a unique prefix names it).
    cat.mode.answer = undefined;
    const resent = await spoolCmd('resend', refused.slice(0, 30));
    expect(resent.code, resent.stderr).toBe(0);
    expect(resent.stdout).toContain(`delivered capture ${refused}`);
    expect(commits()).toContain(refused);
    expect(rejected()).toEqual([]);
    expect(pending()).toEqual([waiting]);

    const dropped = await spoolCmd('drop', waiting);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toMatch(new RegExp(`^dropping pending capture ${waiting} of esxi-never, collected `));
    expect(pending()).toEqual([]);
    expect(commits()).not.toContain(waiting);
    // Nothing left that needs a staged chunk: the spool keeps none.
    expect(readdirSync(join(spool, 'chunks'))).toEqual([]);
    // What is left to ask changes nothing in the spool: asked at once.
    const missing = [
      ['drop', waiting],
      ['resend', 'no-such-capture'],
      ['drop', ''],
    ];
    const usage = [['frob'], ['resend'], ['list', 'extra']];
    const [listed2, help, ...runs] = await Promise.all([
      spoolCmd('list', '--json'),
      spoolCmd('--help'),
      ...[...missing, ...usage].map((args) => spoolCmd(...args)),
    ]);
    expect(JSON.parse(listed2.stdout).captures).toEqual([]);
    for (const [i, args] of missing.entries()) {
      const bad = runs[i];
      expect([args.join(' '), bad.code]).toEqual([args.join(' '), 1]);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(/no capture/);
    }
    for (const r of runs.slice(missing.length)) expect(r.code).toBe(64);
    expect(help.stdout).toMatch(/^Usage: collector spool/);
  });
});
