/**
 * `import` makes one capture per distinct modification time (files sharing one share
 * the capture, collected at that time), marks its begin `collector.mode: "import"` (so
 * retention buckets the capture by that old time, not by when it arrived), and refuses to
 * run without --host: the importing machine's own name would file another host's backups under it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildVhSf } from '../fixtures/vmfs-images.js';
import { stageFolder } from '../helpers/staged-hosts.js';
import { buildBundle, runCollector, runJson } from './run-collector.js';

describe('import', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'legacy-mtimes-'));
  const env = stageFolder('import-env-');
  beforeAll(() => buildBundle());
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    env.cleanup();
  });

  it('makes one capture per distinct mtime, collected at that mtime', async () => {
    const t1 = new Date('2024-03-01T02:15:00Z');
    const t2 = new Date('2024-03-01T02:16:00Z');
    const files: Array<[string, Date]> = [
      ['a-vh.sf.bu', t1],
      ['b-vh.sf.bu', t2],
      ['c-vh.sf.bu', t1],
    ];
    files.forEach(([name, when], i) => {
      writeFileSync(join(dir, name), buildVhSf({ lvmMajor: 3, label: `ds${i}` }));
      utimesSync(join(dir, name), when, when);
    });
    const r = await runJson(['import', '--json', '--dry-run', '--host', 'oldesx', '--spool', join(dir, 'spool'), ...files.map(([n]) => join(dir, n))], env.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.captures.map((c: any) => [c.host, c.collectedAt, c.artifacts.map((a: any) => a.fileName)])).toEqual([
      ['oldesx', t1.toISOString(), ['a-vh.sf.bu', 'c-vh.sf.bu']],
      ['oldesx', t2.toISOString(), ['b-vh.sf.bu']],
    ]);
  });

  it("marks each capture's begin as an import (here as spooled: the catalog is unreachable)", async () => {
    const spool = join(dir, 'spool-mark');
    const r = await runJson(
      [
        'import',
        '--json',
        '--host',
        'oldesx',
        '--url',
        'http://127.0.0.1:9',
        '--token',
        't',
        '--spool',
        spool,
        join(dir, 'a-vh.sf.bu'),
        join(dir, 'b-vh.sf.bu'),
      ],
      env.env,
    );
    expect(r.code, r.stderr).toBe(75);
    const begins = readdirSync(join(spool, 'captures')).map((f) => JSON.parse(readFileSync(join(spool, 'captures', f), 'utf8')).begin);
    expect(begins).toHaveLength(2);
    for (const b of begins) expect(b.collector).toEqual({ version: expect.any(String), mode: 'import' });
  });

  it('refuses to run without --host (usage, exit 64), even with COLLECTOR_HOST set', async () => {
    const r = await runCollector(['import', '--dry-run', '--spool', join(dir, 'spool'), join(dir, 'a-vh.sf.bu')], {
      ...env.env,
      COLLECTOR_HOST: 'this-machine',
    });
    expect(r.code).toBe(64);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--host NAME is required/)]);
  });

  it('documents --host once, as required, and one capture per modification time', async () => {
    const r = await runCollector(['import', '--help'], env.env);
    expect(r.stdout.match(/^ {2}--host NAME/gm)).toHaveLength(1);
    expect(r.stdout).toMatch(/--host NAME +the host the files came from \(required\)/);
    expect(r.stdout).toMatch(/same modification time form one capture/);
  });
});
