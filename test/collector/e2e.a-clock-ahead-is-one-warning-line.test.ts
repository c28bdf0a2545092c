/**
 * The collector is told when the catalog stored its capture at the receipt time because the
 * collection time was ahead of the catalog's clock (a file dated 400 days ahead, as a host
 * whose clock is ahead writes it): one `warning:` line on stderr naming the host and the skew,
 * the run still a success (exit 0). A capture dated right prints nothing of the kind.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { stageFolder } from '../helpers/staged-hosts.js';
import { spawnServer, type ServerProcess } from '../helpers/spawn-server.js';
import { buildBundle, runCollector } from './run-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'clock-ahead-'));
const staged = stageFolder('clock-ahead-env-');
const token = `clock-admin-${randomBytes(16).toString('hex')}`;
let server: ServerProcess;
beforeAll(async () => {
  buildBundle();
  server = await spawnServer({ DATA_DIR: join(dir, 'data'), CATALOG_BOOTSTRAP_TOKEN: token });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
  staged.cleanup();
});

const importFile = (name: string, when: Date) => {
  const file = join(dir, name);
  writeFileSync(file, buildVmfsDisk({ lvmMajor: 5 }));
  utimesSync(file, when, when);
  return runCollector(['import', '--host', 'esx-fast', '--url', server.url, '--token', token, '--spool', join(dir, 'spool'), file], staged.env);
};

it('prints one warning line for a capture dated ahead, none for one dated right', { timeout: 60_000 }, async () => {
  const ahead = await importFile('vmfs-header-backup-sdb.hex', new Date(Date.now() + 400 * 86_400_000));
  expect(ahead.code, ahead.stderr).toBe(0);
  const warnings = ahead.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  expect(warnings, ahead.stderr).toHaveLength(1);
  expect(warnings[0]).toMatch(
    /^warning: esx-fast's clock is 9[56]\d\d h \d+ min ahead of the catalog's: this capture, collected at \S+ by it, is stored as collected at \S+; set the clock right \(NTP\)$/,
  );

  const right = await importFile('vmfs-header-backup-sdc.hex', new Date(Date.now() - 3600_000));
  expect(right.code, right.stderr).toBe(0);
  expect(right.stderr).not.toContain('ahead of the catalog');
});
