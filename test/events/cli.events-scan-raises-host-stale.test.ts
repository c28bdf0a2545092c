/**
 * `npm run catalog -- events scan`: the scheduled checks from the command line, on the
 * database and store the server uses. A host whose only capture is from 2000 is stale at
 * any wall clock this runs under; a second scan raises nothing new.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cli, cliEnvOf } from '../helpers/in-process-cli.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, extent1Dump } from '../api/read-side-seed.js';

describeEachFlavour('catalog events scan and maintenance', (flavour) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-events-cli-'));
  let catalog: TestCatalog | undefined;
  afterAll(async () => {
    await catalog?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('raises host-stale once for a host silent past STALE_AFTER_HOURS', { timeout: 120_000 }, async () => {
    catalog = await startTestCatalog(flavour, { env: { DATA_DIR: dataDir } });
    await ingest(catalog, {
      host: 'esx-old',
      hostKind: 'esxi',
      collectedAt: new Date('2000-01-01T00:00:00Z'),
      artifacts: [{ kind: 'vmfs-header', fileName: 'h.hex', device: EXTENT1.deviceId, bytes: extent1Dump() }],
    });
    const { env, closed } = await cliEnvOf(catalog, flavour, dataDir);
    if (closed) catalog = undefined;
    const first = await cli(['events', 'scan', '--json'], env);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ raised: 1, resolved: 0 });
    const again = await cli(['events', 'scan'], env);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^events scan: 0 raised, 0 resolved; webhooks: 0 delivered, 0 failed\n$/);
    const bad = await cli(['events', 'sweep'], env);
    expect(bad.code).toBe(64);
    expect(bad.err).toMatch(/^catalog: unknown events command "sweep"; try events scan\n$/);
    // The whole hourly pass, on demand: what each step did, and no step failed.
    const pass = await cli(['maintenance', '--json'], env);
    expect(pass.code).toBe(0);
    const done = JSON.parse(pass.out) as { failed: unknown[]; listing: { vouched: number } | null; events: { raised: number } | null };
    expect(done.failed).toEqual([]);
    expect(done.listing).not.toBeNull();
    expect(done.events?.raised).toBe(0);
    const text = await cli(['maintenance'], env);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(
      /^maintenance: event checks 0 raised, 0 resolved; staging sweep \d+ areas; retention not scheduled; listing \d+ vouched, \d+ doubted; scrub /,
    );
    expect((await cli(['maintenance', 'now'], env)).code).toBe(64);
  });
});
