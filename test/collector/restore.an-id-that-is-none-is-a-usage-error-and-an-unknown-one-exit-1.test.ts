/**
 * `collector restore --volume nope` sent the request and printed the catalog's 400 with exit 1,
 * as if the catalog had failed. A --volume that is no VMFS UUID, or a --device that is no device
 * id (formats/ids.ts, the catalog's own rules), is now a usage error — exit 64, one line naming
 * the option and what it takes — before anything is sent. Every spelling the catalog takes still
 * goes out (upper case, no dashes, `naa.…:1`, bare hex, a `vml.…` that decodes), and
 * a well-formed id the catalog knows nothing of is its 404, exit 1, as restore --help says.
 * Against the real catalog, over a socket.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, PROD, seedDatacenter, vmlOf } from '../api/read-side-seed.js';
import { buildBundle, isolatedEnv, runCollector, serveApp } from './run-collector.js';

describeEachFlavour('collector restore: the id it is given', (flavour) => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-id-'));
  let catalog: TestCatalog;
  let served: Awaited<ReturnType<typeof serveApp>>;
  let url: string;
  /** Restore-bundle requests that reached the catalog. */
  let requests = 0;

  beforeAll(async () => {
    buildBundle();
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    served = await serveApp(catalog.app, (req) => new URL(req.url).pathname.endsWith('/restore-bundle') && requests++);
    url = served.url;
  });
  afterAll(async () => {
    await served?.close();
    await catalog?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** What the last run left in the test directory: its output or its staging directory. */
  const left = () => readdirSync(dir).filter((f) => f === `out-${n}` || f.startsWith(`out-${n}.partial-`));
  const restore = (option: '--volume' | '--device', id: string, extra: string[] = []) => {
    requests = 0;
    return runCollector(
      ['restore', option, id, '-o', join(dir, `out-${++n}`), '--url', url, '--token', catalog.adminToken, '--retries', '0', ...extra],
      isolatedEnv(join(dir, 'absent.json')),
    );
  };

  it.each([
    ['--volume', PROD.vmfsUuid.toUpperCase()],
    ['--volume', PROD.vmfsUuid.replace(/-/g, '')],
    ['--device', `${EXTENT1.deviceId}:1`],
    ['--device', EXTENT1.deviceId.slice(4).toUpperCase()],
    ['--device', vmlOf(EXTENT1.deviceId, 0)],
  ] as const)('restore %s %s is sent and restores', async (option, id) => {
    const r = await restore(option, id);
    expect(r.code, r.stderr).toBe(0);
    expect(requests).toBe(1);
    expect(left()).toEqual([`out-${n}`]);
  });

  it.each([
    ['--volume', '00000000-00000000-0000-000000000000', 'volume 00000000-00000000-0000-000000000000'],
    ['--device', 'naa.600144f000000000000000000000dead', 'device naa.600144f000000000000000000000dead'],
  ] as const)('an unknown %s is the catalog 404 saying so: exit 1, as --help says', async (option, id, what) => {
    const r = await restore(option, id);
    expect(r.code, r.stderr).toBe(1);
    expect(requests).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^collector restore: restore bundle: HTTP 404 not_found: the catalog holds nothing for ${what} at or before `));
    expect(left()).toEqual([]);
  });

  // A usage error is the collector's own reading of its arguments: nothing reaches the catalog,
  // so which flavour serves it changes nothing. These run once, against the embedded catalog;
  // what each flavour answers (the spellings sent, the unknown ids' 404) runs on both.
  if (flavour !== 'embedded') return;

  it.each([
    ['--volume', 'nope', /^collector restore: --volume takes a VMFS UUID \(32 hex digits, dashes optional\), not "nope"$/],
    ['--volume', PROD.vmfsUuid.slice(0, 13), /--volume takes a VMFS UUID/],
    ['--volume', `${PROD.vmfsUuid}0`, /--volume takes a VMFS UUID/],
    [
      '--device',
      'nope',
      /^collector restore: --device takes naa\.\/eui\.\/t10\.\/mpx\.\/vml\. or 16\/32 hex digits \(a :N partition suffix too\), not "nope"$/,
    ],
    ['--device', 'naa.zz:1', /--device takes /],
    ['--device', `${EXTENT1.deviceId}:1:1`, /--device takes /],
    ['--device', PROD.vmfsUuid, /--device takes /],
  ] as const)('restore %s %s: exit 64, one line, nothing sent', async (option, id, said) => {
    const r = await restore(option, id);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(said);
    expect(requests).toBe(0);
    expect(left()).toEqual([]);
  });

  it('--json: the usage error document, nothing sent', async () => {
    const r = await restore('--volume', 'nope', ['--json']);
    expect(r.code).toBe(64);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'usage', message: r.stderr.trim().replace(/^collector restore: /, '') } });
    expect(requests).toBe(0);
  });

  // The catalog's 400 said only 'not a device id', after the request; the vml is now decoded here by
  // the catalog's own parser (formats/ids.ts deviceOf), which says what is wrong with it.
  it.each([
    ['vml.02000', 'vml id body must be an even number of hex digits'],
    ['vml.0200', 'vml id shorter than its 5-byte prefix plus an id'],
    ['vml.020000000060', 'vml id has no device-id bytes'],
    [`vml.0200000000${EXTENT1.deviceId.slice(4)}00444953`, 'vml device id: NAA device id must be 8 or 16 bytes, got 14'],
  ])('a vml. id the catalog cannot decode, %s: exit 64, one line saying why, nothing sent', async (id, why) => {
    const r = await restore('--device', id);
    expect(r.code, r.stderr).toBe(64);
    expect(requests).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      `collector restore: --device takes naa./eui./t10./mpx./vml. or 16/32 hex digits (a :N partition suffix too), not ${JSON.stringify(id)}: ${why}`,
    ]);
    expect(left()).toEqual([]);
  });

  it('restore --help says which id each option takes and that an unknown one exits 1', async () => {
    const help = (await runCollector(['restore', '--help'])).stdout;
    expect(help).toMatch(/--device ID +device id \(naa\.…, eui\.…, t10\.…, vml\.…, naa\.…:1\)/);
    expect(help).toMatch(/1 failed \(token refused, no such volume or device\s+at that time/);
    expect(help).toMatch(/64 usage \(a --volume\s+or --device that is no UUID or device id: nothing is sent\)/);
  });
});
