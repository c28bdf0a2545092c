/**
 * `discover --ssh HOST` and `collect --ssh HOST` to a host ssh cannot reach say so, with
 * ssh's own reason, after one login attempt. They labelled it "(linux)" — every ESX and
 * Solaris command failed in turn (each after ssh's connect timeout), so it passed for a
 * Linux host with nothing on it. With --json, no host reached is the error every failure prints.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fakeSsh, MiB, sshCalls, stageEsxiHost, stageFolder, type EsxiHost, type StagedHost } from '../helpers/staged-hosts.js';
import { buildBundle, runCollector, runJson } from './run-collector.js';

let esxi: EsxiHost;
let proxy: StagedHost;
const REASON = 'could not be reached over ssh: ssh: connect to host root@unreachable-esxi port 22: Connection refused';

beforeAll(async () => {
  buildBundle();
  esxi = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500cc', index: 5, sizeBytes: 16 * MiB }]);
  proxy = stageFolder('staged-proxy-');
  fakeSsh(proxy, esxi.root, esxi.bin);
});
afterAll(() => {
  esxi?.cleanup();
  proxy?.cleanup();
});

it('discover names the host it could not reach and why, and exits 1', async () => {
  const before = sshCalls(proxy).length;
  const r = await runCollector(['discover', '--ssh', 'root@unreachable-esxi'], proxy.env);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe(`unreachable-esxi via root@unreachable-esxi: ${REASON}\n`);
  expect(r.stdout).not.toContain('linux');
  // One login, not one per host command.
  expect(sshCalls(proxy).length - before).toBe(1);
});

it('discover --json gives no kind for it, and the reason', async () => {
  const r = await runJson(['discover', '--json', '--ssh', 'root@unreachable-esxi', '--ssh', 'root@esxi01'], proxy.env);
  expect(r.code, r.stderr).toBe(2);
  expect(r.json[0]).toMatchObject({ host: { name: 'unreachable-esxi', kind: null }, unreachable: REASON, artifacts: [] });
  expect(r.json[1]).toMatchObject({ host: { name: 'esxi01', kind: 'esxi' }, unreachable: null });
});

it('discover --json with no host reached prints the error every failure prints, naming each host and why', async () => {
  // Exit 1 printed the list of hosts it could not reach, where a script looks for {"error"} (README, "Operating the catalog", its "Scripts:" paragraph).
  const r = await runJson(['discover', '--json', '--ssh', 'root@unreachable-esxi'], proxy.env);
  expect(r.code, r.stderr).toBe(1);
  expect(r.json).toEqual({ error: { code: 'failed', message: `unreachable-esxi: ${REASON}` } });
});

it('collect reports it with the reason, not as a Linux host', async () => {
  const args = ['collect', '--dry-run', '--ssh', 'root@unreachable-esxi', '--spool', join(proxy.dir, 'spool')];
  const r = await runCollector(args, proxy.env);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toMatch(new RegExp(`^unreachable-esxi capture [0-9a-f-]+: empty — ${REASON}\\n`));
  expect(r.stderr).toBe(`error: unreachable-esxi: ${REASON}\n`);
  const j = await runJson([...args, '--json'], proxy.env);
  expect(j.json.captures[0]).toMatchObject({ host: 'unreachable-esxi', hostKind: null, state: 'empty', error: REASON, artifacts: [] });
  expect(j.json.error).toEqual({ code: 'failed', message: `unreachable-esxi: ${REASON}` });
});

it('discover --help says the exit statuses these runs end with', async () => {
  const help = (await runCollector(['discover', '--help'], proxy.env)).stdout.replace(/\s+/g, ' ');
  expect(help).toContain(
    'Exit status: 0 done · 1 no host reached · 2 some host not reached, or an ERROR line · 64 usage · 78 config file unreadable or invalid.',
  );
});
