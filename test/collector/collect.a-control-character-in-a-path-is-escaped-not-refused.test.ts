/**
 * A --file path holding a control character (ESC) or a bidi override: the capture's sourcePath
 * carries it escaped (`\x1b`, readable), so the catalog's begin check (api/ingest/limits.ts)
 * takes the capture — it refused it whole, every other artifact with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkBeginLimits } from '../../api/ingest/limits.js';
import { buildBundle, runJson } from './run-collector.js';
import { startScriptedCatalog, type ScriptedCatalog } from './scripted-catalog.js';

const TOKEN = 'collector-token-for-control-paths-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'collect-ctl-'));
const odd = join(dir, 'ds1\u001b[31m\u202e.vh.sf');
const plain = join(dir, 'ds2.vh.sf');
let cat: ScriptedCatalog;

beforeAll(async () => {
  buildBundle();
  writeFileSync(odd, Buffer.alloc(4096, 1));
  writeFileSync(plain, Buffer.alloc(4096, 2));
  cat = await startScriptedCatalog(TOKEN);
});
afterAll(async () => {
  await cat?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('sends the path escaped, which the catalog takes, with the other artifacts', async () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CATALOG_|COLLECTOR_)/.test(k)) env[k] = v;
  Object.assign(env, { VMFS_COLLECTOR_CONFIG: join(dir, 'absent.json'), PATH: join(dir, 'no-commands'), CATALOG_TOKEN: TOKEN });
  const args = ['collect', '--json', '--host', 'esx01', '--spool', join(dir, 'spool'), '--url', cat.url, '--retries', '0'];
  const r = await runJson([...args, '--file', `vh-sf:${odd}`, '--file', `vh-sf:${plain}`], env);
  expect(r.code, r.stderr).toBe(0);
  const begin = cat.begins[0].body as Parameters<typeof checkBeginLimits>[0];
  expect(begin.artifacts.map((a) => a.sourcePath)).toEqual([join(dir, 'ds1\\x1b[31m\\u202e.vh.sf'), plain]);
  expect(() => checkBeginLimits(begin)).not.toThrow();
});
