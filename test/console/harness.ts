/**
 * The console's browser harness: a real catalog on a socket (embedded flavour) seeded
 * through the ingest protocol, Debian's chromium driven by playwright-core, axe-core
 * injected from node_modules (no network), and screenshots under .tmp/console-screens/.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { extract } from 'tar';
import { expect } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { reportMissingService, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { EXTENT1, HOUR, PROD, T0, extent1Dump, prodVhSf, seedDatacenter } from '../api/read-side-seed.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Why the browser suite cannot run here, or null. Under CI a missing browser fails the run. */
export const noBrowser = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)`;
if (noBrowser) reportMissingService('[console browser tests] not run', noBrowser);

export const SCREENS = join(import.meta.dirname, '..', '..', '.tmp', 'console-screens');

export interface ConsoleRig {
  catalog: TestCatalog;
  browser: Browser;
  downloads: string;
  close(): Promise<void>;
}

/** Debian's chromium, headless, talking to nothing but the pages it is sent to. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Starts a seeded catalog (the read-side datacenter plus drift on extent 1: re-presented as
 * LUN 9, a lun-id-changed event) and a headless chromium.
 */
export async function startRig(options: { now?: () => Date } = {}): Promise<ConsoleRig> {
  // Chromium starts while the catalog is seeded (neither waits on the other).
  const launching = launchChromium();
  let catalog: TestCatalog | undefined;
  try {
    catalog = await startTestCatalog('embedded', { listen: true, now: options.now });
    await seedDatacenter(catalog);
    await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 24 * HOUR),
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: `${EXTENT1.deviceId}.hex`,
          sourcePath: `/vmfs/devices/disks/${EXTENT1.deviceId}`,
          device: EXTENT1.deviceId,
          bytes: extent1Dump({ lun: 9 }),
        },
      ],
    });
  } catch (e) {
    await (await launching.catch(() => null))?.close();
    await catalog?.close();
    throw e;
  }
  const browser = await launching.catch(async (e: unknown) => {
    await catalog.close();
    throw e;
  });
  const downloads = mkdtempSync(join(tmpdir(), 'vrc-console-dl-'));
  mkdirSync(SCREENS, { recursive: true });
  return {
    catalog,
    browser,
    downloads,
    close: async () => {
      await browser.close();
      await catalog.close();
      rmSync(downloads, { recursive: true, force: true });
    },
  };
}

/** A fresh browser context (no cookies) whose page records every request that leaves the catalog. */
export async function freshPage(
  rig: ConsoleRig,
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; page: Page; external: string[] }> {
  const context = await rig.browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(rig.catalog.url) && !r.url().startsWith('data:')) external.push(r.url());
  });
  return { context, page, external };
}

/** Signs in through the form with a token (one Enter). */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.fill('#token', token);
  await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * Runs axe-core on the page (evaluated through the DevTools protocol, so the console's CSP,
 * which allows no script at all, stays on) and returns the serious or critical violations.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} at ${v.nodes
          .slice(0, 3)
          .map((n) => JSON.stringify(n.target))
          .join(', ')}`,
    );
}

/** Saves a full-page screenshot as .tmp/console-screens/<name>.png and checks the page with axe. */
export async function screenAndCheck(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage: true });
  expect(await page.title(), `${name}: every page has a title`).toMatch(/\S.* · VMFS Recovery Catalog$/);
  expect(await seriousA11yViolations(page), `${name}: serious or critical accessibility violations`).toEqual([]);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Unpacks a restore bundle and checks every line of its SHA256SUMS against the bytes;
 * returns the files it verified.
 */
export async function verifyBundle(tarGz: string, into: string): Promise<string[]> {
  mkdirSync(into, { recursive: true });
  await extract({ file: tarGz, cwd: into });
  const [top] = readdirSync(into);
  const root = existsSync(join(into, 'SHA256SUMS')) ? into : join(into, top);
  const sums = readFileSync(join(root, 'SHA256SUMS'), 'utf8').trim().split('\n');
  const verified: string[] = [];
  for (const line of sums) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new Error(`SHA256SUMS line not understood: ${line}`);
    expect(sha256(readFileSync(join(root, m[2]))), m[2]).toBe(m[1]);
    verified.push(m[2]);
  }
  return verified;
}

/** Copies every row of `table` that `where` picks `days` times, a day earlier each time, renaming the ids that `rename` lists. */
export async function copyDaily(db: Db, table: string, where: string, rename: string[], times: string[], days: number): Promise<void> {
  const cols = (
    await queryRows<{ column_name: string }>(
      db,
      sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND table_schema = current_schema() AND column_default IS NULL ORDER BY ordinal_position`,
    )
  ).map((r) => r.column_name);
  const value = (c: string) => (rename.includes(c) ? `${c} || '-' || g` : times.includes(c) ? `${c} - make_interval(days => g)` : c);
  await db.execute(
    sql.raw(`INSERT INTO ${table} (${cols.join(', ')}) SELECT ${cols.map(value).join(', ')} FROM ${table}, generate_series(1, ${days}) g WHERE ${where}`),
  );
}

/**
 * One host's daily captures of a volume for `days` days, the newest at T0 + `days` days: one
 * through the protocol (a legacy header dump of EXTENT1 and the volume's `.vh.sf`), the days
 * before as copies of its rows a day apart (copyDaily). Answers the database.
 */
export async function seedDailyCaptures(catalog: TestCatalog, days: number): Promise<Db> {
  const day = await ingest(catalog, {
    host: 'esx10',
    hostKind: 'esxi',
    collectedAt: new Date(T0.getTime() + days * 86_400_000),
    artifacts: [
      {
        kind: 'vmfs-header',
        fileName: `${EXTENT1.deviceId}.hex`,
        sourcePath: `/vmfs/devices/disks/${EXTENT1.deviceId}`,
        device: EXTENT1.deviceId,
        bytes: extent1Dump(),
      },
      { kind: 'vh-sf', fileName: '.vh.sf', sourcePath: `/vmfs/volumes/${PROD.vmfsUuid}/.vh.sf`, bytes: prodVhSf() },
    ],
  });
  const db = catalog.services.db;
  const id = day.captureId;
  await copyDaily(db, 'captures', `id = '${id}'`, ['id', 'manifest_key'], ['collected_at', 'received_at', 'committed_at'], days - 1);
  await copyDaily(db, 'artifacts', `capture_id = '${id}'`, ['id', 'capture_id'], ['collected_at'], days - 1);
  await copyDaily(db, 'extents', `capture_id = '${id}'`, ['artifact_id', 'capture_id'], ['seen_at'], days - 1);
  await copyDaily(db, 'segments', `artifact_id IN (SELECT id FROM artifacts WHERE capture_id = '${id}')`, ['artifact_id'], ['seen_at'], days - 1);
  return db;
}
