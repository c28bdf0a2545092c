/**
 * The collector bundle remembers the id the catalog gave each committed artifact
 * (`<spool>/known-artifacts`) and declares an artifact read again byte for byte by that id
 * (`previous`) instead of its chunk list; the begin goes gzipped and asks for the minimal
 * answer. When the catalog cannot resolve such a declaration (any 4xx: an id it does not
 * know, another catalog, one that predates `previous`), the same run sends the chunk lists
 * and the capture commits; a catalog that refuses gzip bodies (400) gets them plain.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB, stageEsxiHost, type EsxiHost } from '../helpers/staged-hosts.js';
import { startScriptedCatalog, type ScriptedCatalog } from './scripted-catalog.js';
import { buildBundle, runJson } from './run-collector.js';

const TOKEN = 'scripted-catalog-token-0123456789';

describe('unchanged artifacts declared by their previous id', { timeout: 60_000 }, () => {
  let host: EsxiHost;
  let cat: ScriptedCatalog;
  let spool: string;

  beforeAll(async () => {
    buildBundle();
    host = await stageEsxiHost([{ deviceId: 'naa.6006016012345678abcdef01234500dd', index: 4, sizeBytes: 16 * MiB }]);
    cat = await startScriptedCatalog(TOKEN);
    spool = join(host.dir, 'spool-previous');
  });
  afterAll(async () => {
    await cat?.close();
    host?.cleanup();
  });

  const collect = () =>
    runJson(['collect', '--json', '--root', host.root, '--host', 'esxi-previous', '--spool', spool, '--url', cat.url, '--retries', '0'], {
      ...host.env,
      CATALOG_TOKEN: TOKEN,
    });
  const known = () => readFileSync(join(spool, 'known-artifacts'), 'utf8').trim().split('\n');

  it('sends chunk lists the first time and remembers the ids the commit answered', async () => {
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    expect(cat.begins).toHaveLength(1);
    const [first] = cat.begins;
    expect(first.prefer).toBe('return=minimal, commit-if-complete');
    expect(first.gzipped).toBe(true);
    expect(first.body.artifacts.every((a) => a.chunks && !a.previous)).toBe(true);
    const ids = r.json.captures[0].artifacts.filter((a: any) => a.status === 'ok').map((a: any) => a.artifactId);
    expect(ids.length).toBeGreaterThan(1);
    expect(
      known()
        .map((l) => l.split(' ')[1])
        .sort(),
    ).toEqual([...ids].sort());
  });

  it('declares every unchanged artifact by its previous id the next time, in one begin', async () => {
    const before = cat.begins.length;
    const ids = known().map((l) => l.split(' ')[1]);
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.captures[0].state).toBe('committed');
    const sent = cat.begins.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].body.artifacts.every((a) => a.chunks === undefined && a.previous)).toBe(true);
    expect(sent[0].body.artifacts.map((a) => a.previous).sort()).toEqual([...ids].sort());
  });

  it('sends the chunk lists in the same run when the catalog cannot resolve the ids', async () => {
    // Ids this catalog never gave: as after a switch to another catalog.
    writeFileSync(
      join(spool, 'known-artifacts'),
      `${known()
        .map((l) => `${l.split(' ')[0]} 0193a000-0000-7000-8000-000000000000`)
        .join('\n')}\n`,
    );
    const before = cat.begins.length;
    const r = await collect();
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.captures[0].state).toBe('committed');
    const sent = cat.begins.slice(before);
    expect(sent).toHaveLength(2);
    expect(sent[0].body.artifacts.every((a) => a.previous)).toBe(true);
    expect(sent[1].body.artifacts.every((a) => a.chunks && !a.previous)).toBe(true);
    expect(sent[1].body.captureId).toBe(sent[0].body.captureId);
    // The ids the commit answered replace the stale ones.
    expect(known().every((l) => !l.endsWith('0193a000-0000-7000-8000-000000000000'))).toBe(true);
  });

  it('sends the begin plain to a catalog that refuses gzip bodies', async () => {
    cat.mode.plainOnly = true;
    const before = cat.begins.length;
    const r = await collect();
    cat.mode.plainOnly = false;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.captures[0].state).toBe('committed');
    const taken = cat.begins.slice(before);
    expect(taken).toHaveLength(1);
    expect(taken[0].gzipped).toBe(false);
    expect(taken[0].body.artifacts.every((a) => a.previous)).toBe(true);
  });
});
