/**
 * A remote read that stops midway (ssh exits non-zero after some bytes) and a host
 * command or remote read that hangs are per-artifact errors (exit 2), never a good
 * shorter dump and never a run that waits for ever.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeSsh, MiB, sshCalls, stageEsxiHost, stageFolder, stageSolarisHost, type EsxiHost, type StagedHost } from '../helpers/staged-hosts.js';
import { buildBundle, runJson } from './run-collector.js';

describe('cut and hung reads', { timeout: 60_000 }, () => {
  let esxi: EsxiHost;
  const proxies: StagedHost[] = [];

  beforeAll(async () => {
    buildBundle();
    esxi = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500aa', index: 3, sizeBytes: 16 * MiB }]);
  });
  afterAll(() => {
    esxi?.cleanup();
    for (const p of proxies) p.cleanup();
  });

  const viaSsh = (dd: 'fail' | 'hang', extra: string[] = []) => {
    const proxy = stageFolder('staged-proxy-');
    proxies.push(proxy);
    fakeSsh(proxy, esxi.root, esxi.bin, dd);
    return { proxy, run: runJson(['collect', '--json', '--dry-run', '--ssh', 'root@esx-cut', '--spool', join(proxy.dir, 'spool'), ...extra], proxy.env) };
  };

  it('reports a read cut short by a non-zero ssh exit as an error, not a shorter dump', async () => {
    const { proxy, run } = viaSsh('fail');
    const r = await run;
    expect(r.code, r.stderr).toBe(2);
    const read = r.json.captures[0].artifacts.filter((a: any) => a.kind === 'vmfs-header' || a.kind === 'vh-sf');
    expect(read.length).toBeGreaterThan(0);
    for (const a of read) {
      expect(a.status).toBe('error');
      expect(a.error).toMatch(/dd failed|ssh exit 3/);
    }
    expect(r.json.captures[0].artifacts.some((a: any) => a.status === 'ok')).toBe(true);
    expect(sshCalls(proxy)[0].opts).toEqual(expect.arrayContaining(['ServerAliveInterval=15', 'ServerAliveCountMax=4']));
  });

  it('ends a remote read that goes silent after --command-timeout', async () => {
    const r = await viaSsh('hang', ['--command-timeout', '1']).run;
    expect(r.code, r.stderr).toBe(2);
    const dump = r.json.captures[0].artifacts.find((a: any) => a.kind === 'vmfs-header');
    expect([dump.status, dump.error]).toEqual(['error', expect.stringMatching(/no data for 1 s/)]);
  });

  it('kills a host command that hangs after --command-timeout and fails only its artifact', async () => {
    const storage = await stageSolarisHost([{ guid: '600144F0C0FFEE0000000000000000AA', dataset: 'tank/lun0', lun: 0, vmfs: false, sizeBytes: 4 * MiB }]);
    proxies.push(storage);
    // Not exec: the sleep is a grandchild that keeps the output pipe open.
    writeFileSync(join(storage.bin, 'zfs'), '#!/bin/sh\nsleep 120\necho never\n');
    chmodSync(join(storage.bin, 'zfs'), 0o755);
    const r = await runJson(
      ['collect', '--json', '--dry-run', '--root', storage.root, '--host', 'thumper', '--spool', join(storage.dir, 'spool'), '--command-timeout', '1'],
      storage.env,
    );
    expect(r.code, r.stderr).toBe(2);
    const zfs = r.json.captures[0].artifacts.find((a: any) => a.kind === 'zfs-snapshots');
    expect([zfs.status, zfs.error]).toEqual(['error', expect.stringMatching(/timed out after 1 s/)]);
    expect(r.json.captures[0].artifacts.find((a: any) => a.kind === 'stmf-smf').status).toBe('ok');
  });
});
