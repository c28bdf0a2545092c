/**
 * A fragment's target LUs are first looked for among the newest target rows (api/read/search.ts
 * fragmentSql: a pool's 'rdsk/tank' starts a word of every backing store, and reading them all
 * took seconds), and only when those do not settle the answer through the names' word-start
 * indexes. The answer must not depend on which way it was found: every fragment kind here (zvol
 * path fragments, IQN fragments typed and as text, label and host fragments, fragments found only
 * mid-word) answers the same with a window of the one newest row as with one holding the whole
 * table, at every limit, and whether its target names are read or, being more than a few, give
 * way to the window. And the answers are the documented ones: target LUs newest first by
 * their latest matching row, volumes exact label first then by similarity then last seen, word
 * starts first when the answer is cut short.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { searchCatalog } from '../../api/read/search.js';
import { parseQuery } from '../../formats/ids.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { HOUR, hostsSeenHourly, seedNames, T0 } from './search-names-seed.js';

interface Lu {
  storageHost: string;
  iqn: string;
  alias: string;
  lun: number;
  deviceId: string;
  backingStore: string;
  seenAt: number;
}

/** 36 LUs on two storage hosts, seen in an order that is not the order they were written in. */
function targetRows(): Lu[] {
  const rows: Lu[] = [];
  for (let i = 1; i <= 36; i++) {
    rows.push({
      storageHost: i % 2 ? 'sol01' : 'sol02',
      iqn: `iqn.1986-03.com.sun:02:${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}`,
      alias: `lu-${i}`,
      lun: i % 4,
      deviceId: `naa.600144f0${i.toString(16).padStart(24, '0')}`,
      backingStore: `/dev/zvol/rdsk/${i <= 24 ? 'tank' : 'pool2'}/vmfs/lun${i}`,
      seenAt: T0 + ((i * 7) % 36) * HOUR,
    });
  }
  // One target IQN presenting six LUs: one name, many LUs.
  for (let lun = 0; lun < 6; lun++) {
    rows.push({
      storageHost: 'sol03',
      iqn: 'iqn.1986-03.com.sun:02:shared',
      alias: `shared-${lun}`,
      lun,
      deviceId: `naa.600144f0ffff${lun.toString(16).padStart(20, '0')}`,
      backingStore: `/dev/zvol/rdsk/shared/lun${lun}`,
      seenAt: T0 + (10 + lun) * HOUR + 30 * 60_000,
    });
  }
  // LU 3 seen again later from another pool (its latest 'tank' row is the older one), LU 4 seen again as it was.
  rows.push({ ...rows[2], backingStore: '/dev/zvol/rdsk/pool2/vmfs/lun3', seenAt: T0 + 40 * HOUR });
  rows.push({ ...rows[3], seenAt: T0 + 41 * HOUR });
  return rows;
}

const LABELS: Array<[string, number]> = [
  ['prod-1', 1],
  ['PROD-1-old', 2],
  ['ds-prod-1', 3],
  ...Array.from({ length: 10 }, (_, d): [string, number] => [`ds-prod-1${d}`, 10 + ((d * 3) % 10)]),
  ['ds-prod-100', 30],
  ['nonprod-1', 31],
  ['ds-test-1', 32],
  ['tank-backup', 33],
];

const luKey = (r: Lu) => `${r.storageHost}|${r.iqn}|${r.lun}|${r.deviceId}`;

/** The latest matching row of each LU, newest first (what a fragment's target hits are). */
function newestLus(rows: Lu[], matches: (r: Lu) => boolean): Lu[] {
  const latest = new Map<string, Lu>();
  for (const r of rows.filter(matches)) {
    const had = latest.get(luKey(r));
    if (!had || had.seenAt < r.seenAt) latest.set(luKey(r), r);
  }
  return [...latest.values()].sort((a, b) => b.seenAt - a.seenAt);
}

describeEachFlavour('search: fragment answers, whichever way their target LUs are found', (flavour) => {
  let catalog: TestCatalog;
  const rows = targetRows();
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const { db } = catalog.services;
    // The rows the indexer writes; the lookup tables' triggers add their names.
    for (const r of rows) {
      await queryRows(
        db,
        sql`INSERT INTO targets (artifact_id, capture_id, storage_host, stack, iqn, alias, lun, device_id, backing_store, tpgs, acl, seen_at)
            VALUES ('art-t', 'cap-t', ${r.storageHost}, 'comstar', ${r.iqn}, ${r.alias}, ${r.lun}, ${r.deviceId}, ${r.backingStore}, '[]'::jsonb, '[]'::jsonb, ${new Date(r.seenAt).toISOString()})`,
      );
    }
    await seedNames(db, LABELS, hostsSeenHourly('esx', 12));
  });
  afterAll(async () => catalog?.close());

  const search = (q: string, limit: number, targetWindow?: number, targetNames?: number) =>
    searchCatalog(catalog.services.db, parseQuery(q), limit, { targetWindow, targetNames });
  const targets = (hits: Awaited<ReturnType<typeof search>>['hits']) =>
    hits.flatMap((h) => (h.type === 'target' ? [`${h.storageHost}|${h.iqn}|${h.lun}|${h.deviceId}|${h.backingStore}`] : []));
  const expected = (lus: Lu[]) => lus.map((r) => `${luKey(r)}|${r.backingStore}`);

  const FRAGMENTS = [
    // zvol path fragments (a dataset not found exactly): word starts of backing stores.
    'rdsk/tank',
    'tank/vmfs',
    'rdsk/tank/vmfs/lun1',
    'pool2/vmfs',
    '/dev/zvol/rdsk/tank',
    'shared/lun',
    // IQN fragments, typed (they start with iqn.) and as text from the middle of the IQN.
    'iqn.1986-03.com.sun:02:',
    'iqn.1986-03.com.sun:02:shar',
    'iqn.1986-03.com.sun:02:9',
    'n.1986-03.com.sun:02:',
    'com.sun:02:',
    'sun:02:9e',
    // Word starts where digits follow a letter ('…:02:9e3779b1' starts words '3779b1' and '1').
    '3779b',
    '03.com',
    'shared',
    // Alias fragments, and words of labels and backing stores alike.
    'lu-1',
    'tank',
    'lun2',
  ];
  /**
   * Label and host fragments, at word starts, mid-word, after a separator, and one naming
   * nothing. No target row holds any of them, so at every window tried above the newest target
   * rows settle nothing and the statement that reads the names without the window answers: each
   * is tried with one window and one bound on the target names read, as it is answered the same
   * way at all of them (168 searches a flavour, now 72; every fragment class still tried).
   */
  const NAME_FRAGMENTS = ['prod-1', 'PROD-1', 'prod', 'rod-1', '-prod', 'ds-prod-1', 'esx0', 'no-such-name'];

  it('answers every fragment kind the same whether the newest target rows settle it or the names are read', async () => {
    // The fragments at once (the searches only read): PostgreSQL answers them on its pool's connections.
    // Limits: a cut answer of one and of a few, and an uncut one; windows: the newest row alone,
    // a few, more than the LUs a fragment names, and all of them (1,120 searches when every
    // step in between was tried: over a minute on PGlite with the test suite beside it).
    const alike = async (
      q: string,
      windows = [1, 2, 9, 30],
      namesBounds = [
        [4, 1],
        [30, 3],
      ],
    ) => {
      for (const limit of [1, 3, 25]) {
        const whole = await search(q, limit);
        for (const targetWindow of windows) {
          expect(await search(q, limit, targetWindow), `${q} limit ${limit} window ${targetWindow}`).toEqual(whole);
        }
        // A fragment the newest rows do not hold, in more target names than are read without the
        // window, is answered by the statement with it.
        for (const [targetWindow, targetNames] of namesBounds) {
          expect(await search(q, limit, targetWindow, targetNames), `${q} limit ${limit} window ${targetWindow} names ${targetNames}`).toEqual(whole);
        }
      }
    };
    await Promise.all([...FRAGMENTS.map((q) => alike(q)), ...NAME_FRAGMENTS.map((q) => alike(q, [1], [[4, 1]]))]);
  }, 180_000);

  it('answers a zvol path fragment with the LUs of every backing store it starts a word of, newest first by their latest matching row', async () => {
    const tank = newestLus(rows, (r) => r.backingStore.includes('/rdsk/tank/'));
    for (const targetWindow of [undefined, 3]) {
      const top = await search('rdsk/tank', 3, targetWindow);
      expect(top.query).toMatchObject({ type: 'backingStore', dataset: 'rdsk/tank' });
      expect(targets(top.hits)).toEqual(expected(tank.slice(0, 3)));
      expect(top.truncated).toBe(true);
      expect(top.hits.every((h) => h.type === 'target' && h.score === 70 && h.match === 'backingStore')).toBe(true);
      // LU 3 was last seen on pool2: its latest row under tank still answers for tank.
      const all = await search('rdsk/tank', 200, targetWindow);
      expect(targets(all.hits)).toEqual(expected(tank));
      expect(all.hits).toHaveLength(24);
      expect(targets(all.hits)).toContain(`${luKey(rows[2])}|/dev/zvol/rdsk/tank/vmfs/lun3`);
    }
  });

  it('answers an IQN fragment from inside the IQN with every LU whose IQN holds it, newest first', async () => {
    const holding = newestLus(rows, (r) => r.iqn.includes('n.1986-03.com.sun:02:'));
    for (const targetWindow of [undefined, 2]) {
      const top = await search('n.1986-03.com.sun:02:', 5, targetWindow);
      expect(top.query.type).toBe('text');
      expect(targets(top.hits)).toEqual(expected(holding.slice(0, 5)));
      expect(top.truncated).toBe(true);
      // Typed as an IQN: the LUs of the IQNs starting so, score 70.
      const typed = await search('IQN.1986-03.COM.SUN:02:SHAR', 25, targetWindow);
      expect(typed.query.type).toBe('iqn');
      expect(targets(typed.hits)).toEqual(expected(newestLus(rows, (r) => r.iqn === 'iqn.1986-03.com.sun:02:shared')));
      expect(typed.hits.every((h) => h.score === 70)).toBe(true);
    }
  });

  it('fills a cut answer with word starts first, and holds mid-word matches when the word starts are fewer than the answer', async () => {
    const volumes = (body: Awaited<ReturnType<typeof search>>) => body.hits.flatMap((h) => (h.type === 'volume' ? [h.label] : []));
    for (const targetWindow of [undefined, 1]) {
      // 14 labels start a word with 'prod-1' and 'nonprod-1' holds it mid-word: 25 hits take it, 3 do not.
      const all = await search('prod-1', 25, targetWindow);
      expect(volumes(all)).toContain('nonprod-1');
      expect(volumes(all)).toHaveLength(15);
      const cut = await search('prod-1', 3, targetWindow);
      expect(volumes(cut)).not.toContain('nonprod-1');
      // The four closest (limit + 1): the exact label, then by similarity 'ds-prod-1' (0.7), 'PROD-1-old'
      // (0.64) and of the ten 'ds-prod-1d' (0.5) the one seen last, 'ds-prod-13'; answered by score
      // (exact 95, starting with it 80, else 60), then last seen.
      expect(volumes(cut)).toEqual(['prod-1', 'PROD-1-old', 'ds-prod-13']);
      expect(cut.hits.map((h) => h.score)).toEqual([95, 80, 60]);
      expect(cut.truncated).toBe(true);
      // Equal similarity: the volume seen last comes first ('ds-prod-1d' for d = 0…9, seen 10 + 3d mod 10 hours).
      const tens = await search('ds-prod-1', 5, targetWindow);
      expect(volumes(tens)).toEqual(['ds-prod-1', 'ds-prod-13', 'ds-prod-16', 'ds-prod-19', 'ds-prod-12']);
      // A host fragment: 12 hosts start with 'esx0' or 'esx1', all with the same score; the answer is cut at 5.
      const hosts = await search('esx', 5, targetWindow);
      expect(hosts.hits.map((h) => h.type)).toEqual(['host', 'host', 'host', 'host', 'host']);
      expect(hosts.truncated).toBe(true);
      // 'shared' starts one IQN's word (six LUs) and the aliases and zvols of those six: fewer names
      // than a 25-hit answer, so the ones holding it mid-word are looked for too (there are none).
      expect(targets((await search('shared', 25, targetWindow)).hits)).toHaveLength(6);
    }
  });

  it('takes the LUs of a fragment that starts a word of many backing stores from the newest target rows, without reading the names', async () => {
    const { db } = catalog.services;
    const before = await search('rdsk/tank', 3, 8);
    // Without the target names in the lookup table, only the target rows themselves can answer.
    await queryRows(db, sql`DELETE FROM search_names WHERE kind IN ('iqn', 'alias', 'backingStore')`);
    try {
      expect(await search('rdsk/tank', 3, 8)).toEqual(before);
      expect(targets((await search('rdsk/tank', 3, 8)).hits)).toEqual(expected(newestLus(rows, (r) => r.backingStore.includes('/rdsk/tank/')).slice(0, 3)));
    } finally {
      await queryRows(
        db,
        sql`INSERT INTO search_names (kind, name, ref) SELECT DISTINCT kind, name, ref FROM search_name_sources WHERE kind IN ('iqn', 'alias', 'backingStore')`,
      );
    }
  });
});
