/**
 * `collector restore` run again with the same `-o` (the admin's second try, or the default
 * `./restore-<id>` of an earlier run) said only `… exists and is not empty`, exit 64: not what to
 * do, nor whether the first bundle was touched. It now names the way on (another directory) and
 * that what is there is left as it is — and it is, byte for byte. Against the real catalog over a
 * socket.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { PROD, seedDatacenter } from '../api/read-side-seed.js';
import { buildBundle, isolatedEnv, runCollector, serveApp } from './run-collector.js';

describeEachFlavour('collector restore into a directory already holding a bundle', (flavour) => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-again-'));
  let catalog: TestCatalog;
  let served: Awaited<ReturnType<typeof serveApp>>;
  let url: string;

  beforeAll(async () => {
    buildBundle();
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    served = await serveApp(catalog.app);
    url = served.url;
  });
  afterAll(async () => {
    await served?.close();
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exit 64 in one line saying to give another directory, the first bundle untouched', async () => {
    const out = join(dir, 'restore');
    const restore = () =>
      runCollector(['restore', '--volume', PROD.vmfsUuid, '-o', out, '--url', url, '--token', catalog.adminToken], isolatedEnv(join(dir, 'absent.json')));
    expect((await restore()).code).toBe(0);
    const [top] = readdirSync(out);
    const sums = readFileSync(join(out, top, 'SHA256SUMS'));
    const again = await restore();
    expect(again.code, again.stderr).toBe(64);
    expect(again.stderr.trim().split('\n')).toEqual([
      `collector restore: ${out} exists and is not empty (-o wants a new or empty directory: -o ${out}-2, say; what is in ${out} is left as it is)`,
    ]);
    expect(readdirSync(out)).toEqual([top]);
    expect(readFileSync(join(out, top, 'SHA256SUMS')).equals(sums)).toBe(true);
  });
});
