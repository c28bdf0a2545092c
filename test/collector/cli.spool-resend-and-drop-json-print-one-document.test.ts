/**
 * `collector spool resend` and `spool drop` with `--json` print one JSON document on stdout, as
 * README ("Scripts") promises of every collector command: what was resent (the capture as
 * `spool list --json` shows it, and the chunks and bytes that went up) or dropped, and on a
 * failure the error alone in the API's shape, `{"error":{"code","message"}}` (unreachable 75,
 * rejected 65, failed 1), beside its one line on stderr. They printed their human lines with
 * --json. Without --json the lines are as before. The built bundle against a scripted catalog.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB, stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { startScriptedCatalog, type ScriptedCatalog } from './scripted-catalog.js';
import { buildBundle, freePort, runCollector, runJson } from './run-collector.js';

const TOKEN = 'scripted-catalog-token-0123456789';

describe('spool resend and drop with --json', { timeout: 90_000 }, () => {
  let host: EsxiHost;
  let cat: ScriptedCatalog;
  let spool: string;

  const env = () => ({ ...host.env, CATALOG_TOKEN: TOKEN });
  const down = async () => `http://127.0.0.1:${await freePort()}`;
  /** One capture collected while the catalog is out of reach: it waits in the spool. */
  const spooled = async (): Promise<string> => {
    const r = await runJson(
      ['collect', '--json', '--root', host.root, '--host', 'esxi-spool', '--spool', spool, '--url', await down(), '--retries', '0'],
      env(),
    );
    expect(r.code, r.stderr).toBe(75);
    return r.json.captures[0].captureId;
  };
  const spoolCommand = (...args: string[]) => [...args, '--spool', spool, '--retries', '0'];
  const waiting = () => readdirSync(join(spool, 'captures')).sort();

  beforeAll(async () => {
    buildBundle();
    host = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500de', index: 2, sizeBytes: 16 * MiB }]);
    cat = await startScriptedCatalog(TOKEN);
    spool = join(host.dir, 'spool');
  });
  afterAll(async () => {
    await cat?.close();
    host?.cleanup();
  });

  it('drop: the capture it deleted, as spool list shows it; a capture it cannot find is the error alone', async () => {
    const id = await spooled();
    const listed = await runJson(spoolCommand('spool', 'list', '--json'), env());
    const entry = listed.json.captures.find((c: { id: string }) => c.id === id);
    expect(entry).toMatchObject({ id, state: 'pending', host: 'esxi-spool' });

    const r = await runJson(spoolCommand('spool', 'drop', id.slice(0, 30), '--json'), env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({ spool, dropped: { ...entry, spoolBytes: 0 } });
    expect(waiting()).not.toContain(`${id}.json`);

    const none = await runJson(spoolCommand('spool', 'drop', id, '--json'), env());
    expect(none.code).toBe(1);
    const message = `no capture ${JSON.stringify(id)} in ${spool} (see collector spool list --spool ${spool})`;
    expect(none.json).toEqual({ error: { code: 'failed', message } });
    expect(none.stderr).toBe(`collector spool: ${message}\n`);
  });

  it('drop without --json: the line saying what it was, as before', async () => {
    const id = await spooled();
    const r = await runCollector(spoolCommand('spool', 'drop', id), env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^dropping pending capture ${id} of esxi-spool, collected \\S+: \\d+ artifact\\(s\\), [\\d.]+ MiB\\n$`));
  });

  it('resend: the catalog out of reach is the error alone (75) and the capture stays; delivered, the capture and what went up', async () => {
    const id = await spooled();
    const unreachable = await runJson(spoolCommand('spool', 'resend', id, '--json', '--url', await down()), env());
    expect(unreachable.code, unreachable.stderr).toBe(75);
    expect(Object.keys(unreachable.json)).toEqual(['error']);
    // What is wrong, as collect says it — not the one request it went wrong on.
    expect(unreachable.json.error).toEqual({ code: 'unreachable', message: expect.stringMatching(/^catalog unreachable: .*ECONNREFUSED/) });
    expect(unreachable.stderr).toBe(`collector spool: ${unreachable.json.error.message}\n`);
    expect(waiting()).toContain(`${id}.json`);

    // Two failed attempts: the collect run's and the resend's above.
    const r = await runJson(spoolCommand('spool', 'resend', id, '--json', '--url', cat.url), env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toEqual({
      spool,
      resent: expect.objectContaining({ id, state: 'pending', host: 'esxi-spool', attempts: 2, lastError: expect.stringMatching(/ECONNREFUSED/) }),
      chunksUploaded: expect.any(Number),
      bytesUploaded: expect.any(Number),
    });
    expect(r.json.chunksUploaded).toBeGreaterThan(0);
    expect(r.json.bytesUploaded).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect(waiting()).not.toContain(`${id}.json`);
  });

  it('resend of a capture the catalog refuses: the error alone (rejected, 65); resent once mended, without --json the line as before', async () => {
    const id = await spooled();
    // An answer the catalog gives a capture it will never take (400 at begin).
    cat.mode.answer = ({ method, path }) =>
      method === 'POST' && path === '/v1/captures' ? { status: 400, body: { error: { code: 'bad_request', message: 'unknown artifact kind' } } } : undefined;
    const r = await runJson(spoolCommand('spool', 'resend', id, '--json', '--url', cat.url), env());
    cat.mode.answer = undefined;
    expect(r.code, r.stderr).toBe(65);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error.code).toBe('rejected');
    expect(r.json.error.message).toMatch(new RegExp(`^capture ${id} of esxi-spool .*will never be taken: .*HTTP 400`));
    expect(existsSync(join(spool, 'rejected', id))).toBe(true);

    const human = await runCollector(spoolCommand('spool', 'resend', id, '--url', cat.url), env());
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^delivered capture ${id} of esxi-spool: \\d+ chunk\\(s\\) uploaded, [\\d.]+ MiB\\n$`));
    expect(existsSync(join(spool, 'rejected', id))).toBe(false);
  });
});
