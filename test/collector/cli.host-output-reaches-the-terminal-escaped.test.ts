/**
 * What a host says (here ssh's error for a host whose banner holds terminal escapes, a
 * carriage return and a bidi override) reaches the operator's terminal escaped: an ESC
 * sequence (ECMA-48) could retitle the window, clear the screen or write to the clipboard,
 * a carriage return overwrite the line, U+202E (Unicode UAX #9) reverse the text after it.
 * JSON output escapes them too and reads back as the same string.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hasControlChars } from '../../formats/printable.js';
import { formatRunReport, type RunReport } from '../../collector/send.js';
import { fakeSsh, stageEsxiHost, stageFolder, type EsxiHost, type StagedHost } from '../helpers/staged-hosts.js';
import { buildBundle, runCollector, runJson } from './run-collector.js';

let esxi: EsxiHost;
let proxy: StagedHost;
const RAW = 'ssh: \u001b]0;owned\u0007\u001b[2Jbanner\rover \u202etxt.exe';
const SHOWN = 'ssh: \\x1b]0;owned\\x07\\x1b[2Jbanner\\x0dover \\u202etxt.exe';
const noRaw = (s: string) => hasControlChars(s.replace(/\n/g, ''));

beforeAll(async () => {
  buildBundle();
  esxi = await stageEsxiHost([]);
  proxy = stageFolder('staged-proxy-');
  fakeSsh(proxy, esxi.root, esxi.bin);
});
afterAll(() => {
  esxi?.cleanup();
  proxy?.cleanup();
});

it('discover prints the host’s words escaped, on one line', async () => {
  const r = await runCollector(['discover', '--ssh', 'root@hostile-esxi'], proxy.env);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe(`hostile-esxi via root@hostile-esxi: could not be reached over ssh: ${SHOWN}\n`);
  expect(noRaw(r.stdout + r.stderr)).toBe(false);
});

it('discover --json escapes them and reads back as what ssh said', async () => {
  const r = await runJson(['discover', '--json', '--ssh', 'root@hostile-esxi'], proxy.env);
  expect(noRaw(r.stdout)).toBe(false);
  expect(r.stdout).toContain('\\u202etxt.exe');
  // No host reached: the one JSON document is the error, naming the host and what ssh said.
  expect(r.code).toBe(1);
  expect(r.json.error.code).toBe('failed');
  expect(r.json.error.message).toContain(`hostile-esxi`);
  expect(r.json.error.message).toContain(`could not be reached over ssh: ${RAW}`);
});

it('collect escapes them in its report and in its error line', async () => {
  const args = ['collect', '--dry-run', '--ssh', 'root@hostile-esxi', '--spool', join(proxy.dir, 'spool')];
  const r = await runCollector(args, proxy.env);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toBe(`error: hostile-esxi: could not be reached over ssh: ${SHOWN}\n`);
  expect(r.stdout).toContain(`empty — could not be reached over ssh: ${SHOWN}\n`);
  expect(noRaw(r.stdout + r.stderr)).toBe(false);
  const j = await runJson([...args, '--json'], proxy.env);
  expect(noRaw(j.stdout)).toBe(false);
  expect(j.json.captures[0].error).toBe(`could not be reached over ssh: ${RAW}`);
});

it('a line break in what a host said cannot add a line to the report', () => {
  const artifact = {
    kind: 'esx-inventory',
    fileName: 'x.txt',
    sourcePath: '/dev/x',
    device: null,
    status: 'error' as const,
    note: null,
    size: 0,
    sha256: null,
    chunks: 0,
  };
  const report = {
    dryRun: true,
    artifacts: 1,
    chunks: 0,
    chunksUploaded: 0,
    bytesRead: 0,
    bytesUploaded: 0,
    seconds: 1,
    spool: { delivered: [], pending: 0, rejected: [], setAside: 0 },
    captures: [
      {
        captureId: 'c1',
        host: 'esx01',
        hostKind: 'esx',
        state: 'empty',
        error: null,
        artifacts: [{ ...artifact, error: 'failed\n  zfs-snapshots   /etc/ok  0.1 MiB, 1 chunk(s)' }],
      },
    ],
  } as unknown as RunReport;
  const lines = formatRunReport(report).trimEnd().split('\n');
  expect(lines).toHaveLength(3);
  expect(lines[1]).toBe('  esx-inventory   /dev/x  ERROR failed\\x0a  zfs-snapshots   /etc/ok  0.1 MiB, 1 chunk(s)');
});
