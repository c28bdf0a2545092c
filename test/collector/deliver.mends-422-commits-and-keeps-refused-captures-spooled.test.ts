/**
 * A commit refused with 422 (the catalog deleted a corrupt chunk) is mended by one more
 * begin + upload + commit; only a second refusal sets the capture aside. A token the
 * catalog refuses (401) or whose host scope does not fit (403) keeps the capture in the
 * spool, says why once, and exits 1; the next run with a good token delivers it.
 */
import { readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MiB, stageEsxiHost, stageSolarisHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { startScriptedCatalog, type ScriptedCatalog } from './scripted-catalog.js';
import { buildBundle, runJson } from './run-collector.js';

const TOKEN = 'scripted-catalog-token-0123456789';

describe('delivery refusals', { timeout: 60_000 }, () => {
  let host: EsxiHost;
  let cat: ScriptedCatalog;
  let n = 0;
  let spool: string;

  beforeAll(async () => {
    buildBundle();
    host = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500bb', index: 4, sizeBytes: 16 * MiB }]);
  });
  beforeEach(async () => {
    await cat?.close();
    cat = await startScriptedCatalog(TOKEN);
    spool = join(host.dir, `spool-${n++}`);
  });
  afterAll(async () => {
    await cat?.close();
    host?.cleanup();
  });

  const collect = (token = TOKEN) =>
    runJson(['collect', '--json', '--root', host.root, '--host', 'esxi-refused', '--spool', spool, '--url', cat.url, '--retries', '0'], {
      ...host.env,
      CATALOG_TOKEN: token,
    });
  const spooled = (d: string) => readdirSync(join(spool, d)).filter((f) => d === 'rejected' || f.endsWith('.json'));

  it('re-uploads what a 422 commit deleted and commits again', async () => {
    cat.mode.commit422 = 1;
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.captures[0].state).toBe('committed');
    expect(cat.log.filter((l) => l.endsWith('/commit'))).toHaveLength(2);
    expect(cat.log.filter((l) => l === 'POST /v1/captures')).toHaveLength(2);
    // Every distinct chunk once, plus the one the catalog deleted.
    expect(r.json.putRequests).toBe(cat.chunks.size + 1);
    expect(spooled('captures')).toEqual([]);
    expect(spooled('rejected')).toEqual([]);
  });

  it('sets a capture aside only when the mended commit is refused again', async () => {
    cat.mode.commit422 = 2;
    const r = await collect();
    expect(r.code, r.stderr).toBe(65);
    expect(r.json.captures[0].state).toBe('rejected');
    expect(readdirSync(join(spool, 'rejected'))).toEqual([r.json.captures[0].captureId]);
  });

  it('keeps a capture refused for its token spooled, says so once, exits 1, and delivers it with a good token', async () => {
    const r = await collect('wrong-token');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.match(/refused the token \(HTTP 401\)/g)).toHaveLength(1);
    const id = r.json.captures[0].captureId;
    expect(r.json.captures[0].state).toBe('spooled');
    expect(spooled('captures')).toEqual([`${id}.json`]);
    expect(spooled('rejected')).toEqual([]);

    const again = await collect('wrong-token');
    expect(again.code).toBe(1);
    expect(again.stderr.match(/refused the token/g)).toHaveLength(1);
    expect(spooled('captures')).toHaveLength(2);

    const fixed = await collect();
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.json.spool.delivered).toContain(id);
    expect(spooled('captures')).toEqual([]);
  });

  it('names the host when the token may not send for it (403)', async () => {
    cat.mode.refuse = 403;
    const r = await collect();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/not allowed to send for host esxi-refused \(HTTP 403\)/);
    expect(spooled('captures')).toHaveLength(1);
  });

  it('blames the URL, not the token, when another server answers there (an S3 endpoint given as the catalog URL)', async () => {
    const other = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const r = await runJson(['collect', '--json', '--root', host.root, '--host', 'esxi-refused', '--spool', spool, '--url', url, '--retries', '0'], {
        ...host.env,
        CATALOG_TOKEN: TOKEN,
      });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/the catalog URL answers as another server does, not the catalog \(HTTP 403\); kept in the spool until the URL is fixed/);
      expect(r.stderr).not.toMatch(/token/);
      expect(spooled('captures')).toHaveLength(1);
    } finally {
      other.close();
    }
  });

  it('does not blame the token for an upload URL the store refuses (403: expired signature)', async () => {
    cat.mode.putStatus = 403;
    const r = await collect();
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.captures[0].state).toBe('failed');
    expect(r.json.captures[0].error).toMatch(/upload chunk .*HTTP 403/);
    expect(r.stderr).not.toMatch(/token/);
    expect(spooled('captures')).toHaveLength(1);
  });
});

describe('a full spool', { timeout: 60_000 }, () => {
  it('still delivers command output (SMF exports, listings), which cannot be re-read', async () => {
    buildBundle();
    const storage = await stageSolarisHost([
      { guid: '600144F0C0FFEE0000000000000000BB', dataset: 'tank/lun0', lun: 0, vmfs: { deviceId: '', index: 5, lun: 0 }, sizeBytes: 16 * MiB },
    ]);
    const cat = await startScriptedCatalog(TOKEN);
    try {
      const r = await runJson(
        [
          'collect',
          '--json',
          '--root',
          storage.root,
          '--host',
          'thumper',
          '--spool',
          join(storage.dir, 'spool'),
          '--spool-max-bytes',
          '1',
          '--url',
          cat.url,
          '--retries',
          '0',
        ],
        { ...storage.env, CATALOG_TOKEN: TOKEN },
      );
      expect(r.code, r.stderr + JSON.stringify(r.json.captures[0]?.error)).toBe(0);
      const kinds = r.json.captures[0].artifacts.map((a: any) => a.kind);
      expect(kinds).toEqual(expect.arrayContaining(['iscsitgt-smf', 'stmf-smf', 'comstar-listing', 'vmfs-header']));
      expect(r.json.captures[0].state).toBe('committed');
    } finally {
      await cat.close();
      storage.cleanup();
    }
  });
});
