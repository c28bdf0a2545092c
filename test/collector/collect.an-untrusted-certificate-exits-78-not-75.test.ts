/**
 * An https:// catalog whose certificate this host does not trust is a setting of this host to
 * change (its CA, the URL's name), not an outage: collect, spool resend and restore exited 75
 * (EX_TEMPFAIL, "try again later") after retrying with backoff, so cron retried forever and a
 * script took it for the catalog being down. Now they exit 78 (EX_CONFIG, as for an invalid
 * config file) at the first refusal, with the line that says how to trust it; collect keeps
 * the capture in the spool, to go out once the setting is mended. Against a TLS server with a
 * self-signed certificate (openssl), counting the handshakes it sees.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB, stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { buildBundle, runCollector, runJson } from './run-collector.js';

const TOKEN = 'collector-untrusted-certificate-token-0123456789';

describe('an https catalog whose certificate this host does not trust', { timeout: 120_000 }, () => {
  let dir: string;
  let server: Server;
  let url: string;
  let host: EsxiHost;
  let handshakes = 0;

  beforeAll(async () => {
    buildBundle();
    dir = mkdtempSync(join(tmpdir(), 'collector-untrusted-'));
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('{}'));
    server.on('tlsClientError', () => handshakes++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    host = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500f1', index: 5, sizeBytes: 16 * MiB }]);
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    host?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ ...host.env, CATALOG_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: '' });
  const spool = () => join(dir, 'spool');

  it('collect: exit 78 at the first refusal, not retried, the capture kept, the way out said', async () => {
    handshakes = 0;
    const r = await runJson(['collect', '--root', host.root, '--host', 'esxi-tls', '--spool', spool(), '--url', url, '--retries', '3', '--json'], env());
    expect(r.code, r.stderr).toBe(78);
    expect(r.json.error).toEqual({
      code: 'invalid_config',
      message: expect.stringMatching(
        /^1 capture\(s\) waiting in the spool for the next run: catalog unreachable: .*this host does not trust 127\.0\.0\.1:\d+'s TLS certificate; give its CA with NODE_EXTRA_CA_CERTS=FILE/,
      ),
    });
    expect(r.json.captures[0].state).toBe('spooled');
    // One handshake: --retries 3 would have made four, with backoff between them.
    expect(handshakes).toBe(1);
  });

  it('spool resend: exit 78, the capture still pending', async () => {
    const list = await runJson(['spool', 'list', '--spool', spool(), '--json'], env());
    const captures = list.json.captures as Array<{ id: string; state: string }>;
    expect(captures.map((c) => c.state)).toEqual(['pending']);
    const id = captures[0].id;
    const r = await runCollector(['spool', 'resend', id, '--spool', spool(), '--url', url, '--retries', '3'], env());
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(/does not trust 127\.0\.0\.1:\d+'s TLS certificate/);
    const after = (await runJson(['spool', 'list', '--spool', spool(), '--json'], env())).json.captures as Array<{ id: string; state: string }>;
    expect(after.map((c) => [c.id, c.state])).toEqual([[id, 'pending']]);
  });

  it('restore: exit 78, nothing left behind', async () => {
    const out = join(dir, 'restore-out');
    const r = await runCollector(['restore', '--volume', '49a1b2c3-5d2e1f00-1a2b-001b21c0ffee', '-o', out, '--url', url], env());
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(/does not trust 127\.0\.0\.1:\d+'s TLS certificate/);
    expect(existsSync(out)).toBe(false);
  });

  it('every help that lists exit 78 names the untrusted certificate with it', async () => {
    // restore --help and the command list said only "config file unreadable or invalid".
    for (const args of [['--help'], ['collect', '--help'], ['import', '--help'], ['restore', '--help'], ['spool', '--help']]) {
      const help = (await runCollector(args)).stdout;
      expect([args[0], help.replace(/\s+/g, ' ')]).toEqual([
        args[0],
        expect.stringMatching(/ 78 config file unreadable or invalid,? (\(nothing done\), )?or TLS cert untrusted\./),
      ]);
    }
  });
});
