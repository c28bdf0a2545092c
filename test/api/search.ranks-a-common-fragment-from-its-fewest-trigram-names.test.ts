/**
 * A text fragment's labels and host names are read from their word starts in btree order
 * (db/migrations/0018 search_name_starts, api/read/search.ts nameStartsCtes), at most
 * RANKED_NAMES of them: a fragment that starts a word of more (`prod` of 200,000 labels) is
 * ranked from those with the fewest trigrams, and the answer says so with `capped`. Here the cap
 * is shrunk: a fragment in no more names than the cap answers exactly as with the whole table and
 * without `capped`; one in more is answered with the names in the order they are read — the exact
 * name first, then fewest trigrams, then byte order of the word, not by similarity and last seen
 * (api/read/search.ts nameRank) — says `capped`, and is still cut by `truncated`; and the word
 * starts follow a relabelled volume.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { searchCatalog } from '../../api/read/search.js';
import { parseQuery } from '../../formats/ids.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { hostsSeenHourly, seedNames } from './search-names-seed.js';

/** Labels with the hour they were last seen; their trigram counts are in the comments of the tests. */
const LABELS: Array<[string, number]> = [
  ['prod-1', 1],
  ['PROD-1-old', 2],
  ['ds-prod-1', 3],
  ...Array.from({ length: 10 }, (_, d): [string, number] => [`ds-prod-1${d}`, 10 + ((d * 3) % 10)]),
  ['ds-prod-100', 30],
  ['nonprod-1', 31],
  ['ds-test-1', 32],
];

describeEachFlavour('search: a fragment in more names than a search ranks', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await seedNames(catalog.services.db, LABELS, hostsSeenHourly('prod-esx', 12));
  });
  afterAll(async () => catalog?.close());

  const search = (q: string, limit: number, rankedNames?: number) => searchCatalog(catalog.services.db, parseQuery(q), limit, { rankedNames });
  const labels = (body: Awaited<ReturnType<typeof search>>) => body.hits.flatMap((h) => (h.type === 'volume' ? [h.label] : []));
  /**
   * How many word starts of labels and host names begin with the lower-cased fragment (without a
   * leading separator), in names holding the whole fragment.
   */
  const starts = async (fragment: string) =>
    Number(
      (
        await queryRows<{ n: number | string }>(
          catalog.services.db,
          sql`SELECT count(*) AS n FROM search_name_start_sources
               WHERE starts_with(word, ${fragment.toLowerCase().replace(/^-/, '')}) AND strpos(lower(name), ${fragment.toLowerCase()}) > 0`,
        )
      )[0].n,
    );

  it('answers a fragment in no more word starts than the cap as with the whole table, and without capped', async () => {
    for (const q of ['prod-1', 'PROD-1', 'ds-prod-1', 'prod', '-prod', 'rod-1', 'prod-esx0', 'esx', 'ds-test', 'old', 'no-such-name']) {
      const n = await starts(q);
      for (const limit of [1, 25]) {
        const whole = await search(q, limit);
        expect(whole.capped, q).toBeUndefined();
        for (const rankedNames of [2, 13, 14, 30]) {
          const ranked = await search(q, limit, rankedNames);
          if (n <= rankedNames) expect(ranked, `${q} limit ${limit} ranked ${rankedNames}`).toEqual(whole);
          else expect(ranked.capped, `${q} limit ${limit} ranked ${rankedNames}`).toBe(true);
        }
      }
    }
  });

  it('answers a fragment in more word starts than the cap with its names in the order they are read, and says so', async () => {
    // 'prod-1' starts a word of 14 labels. Trigram counts: 'prod-1' 7, 'ds-prod-1' 10, 'PROD-1-old'
    // and 'ds-prod-1d' 11, 'ds-prod-100' 12. Read in that order, the 11s in byte order of the word:
    // 'prod-1-old' (a '-' before digits), 'prod-10', 'prod-11', …
    expect(await starts('prod-1')).toBe(14);
    const five = await search('prod-1', 3, 5);
    expect(five.capped).toBe(true);
    expect(five.truncated).toBe(true);
    // The first four read (limit + 1): prod-1 (exact), ds-prod-1, PROD-1-old, ds-prod-10 — not, of the
    // ten ds-prod-1d as similar as each other, the one seen last; then by score and last seen.
    expect(labels(five)).toEqual(['prod-1', 'PROD-1-old', 'ds-prod-10']);
    // Ranked from all 14 by similarity, ds-prod-13 (seen last of the ten 0.5s) takes that place.
    const all = await search('prod-1', 3);
    expect(all.capped).toBeUndefined();
    expect(labels(all)).toEqual(['prod-1', 'PROD-1-old', 'ds-prod-13']);
    // However many names a capped answer may be read from, it is the first ones read.
    for (const rankedNames of [4, 5, 13]) {
      const capped = await search('prod-1', 3, rankedNames);
      expect(capped.capped).toBe(true);
      expect(capped.hits).toEqual(five.hits);
    }
    // A wider one takes the next read: the first seven are prod-1, ds-prod-1, PROD-1-old and
    // ds-prod-10 … 13 (by their word), of which six are answered by score and last seen.
    const wide = await search('prod-1', 6, 13);
    expect(wide.capped).toBe(true);
    expect(labels(wide)).toEqual(['prod-1', 'PROD-1-old', 'ds-prod-13', 'ds-prod-12', 'ds-prod-11', 'ds-prod-10']);
    // 'prod' starts a word of 14 labels and 12 hosts ('prod-esx01' …, 11 trigrams each). Ranked from
    // 14, the 13 labels of 7–11 trigrams come first and of the hosts only the first word, 'prod-esx01'.
    const hosts = (body: Awaited<ReturnType<typeof search>>) => body.hits.flatMap((h) => (h.type === 'host' ? [h.name] : []));
    expect(await starts('prod')).toBe(26);
    const prod = await search('prod', 5, 14);
    expect(prod.capped).toBe(true);
    expect(hosts(prod)).toEqual(['prod-esx01']);
    expect(hosts(await search('prod', 25))).toHaveLength(12);
  });

  it('ranks a fragment with a leading separator from the names that hold it, not from its probe’s', async () => {
    // '-prod' is read from the word starts of 'prod' (26: 14 labels, 12 hosts), of which the 12
    // ds-prod labels hold '-prod'. Ranked from 2, those 2 are ds-prod-1 (10 trigrams) and, of the
    // 11s, ds-prod-10 first in byte order; ranked from the 12, the answer is the whole table's.
    expect(await starts('-prod')).toBe(12);
    const two = await search('-prod', 25, 2);
    expect(two.capped).toBe(true);
    expect(labels(two).sort()).toEqual(['ds-prod-1', 'ds-prod-10']);
    const whole = await search('-prod', 25);
    expect(labels(whole).sort()).toEqual(
      LABELS.map(([l]) => l)
        .filter((l) => l.includes('-prod'))
        .sort(),
    );
    expect(await search('-prod', 25, 12)).toEqual(whole);
  });

  it('follows a relabelled volume: its new label starts a word, and its old one still does, as an earlier label', async () => {
    const { db } = catalog.services;
    const [{ vmfs_uuid: uuid }] = await queryRows<{ vmfs_uuid: string }>(db, sql`SELECT vmfs_uuid FROM volumes WHERE label = 'ds-test-1'`);
    // As a commit relabels: the volume's label, and the label beside its earlier ones.
    await queryRows(db, sql`UPDATE volumes SET label = 'qa-lab-7' WHERE vmfs_uuid = ${uuid}`);
    await queryRows(db, sql`INSERT INTO volume_labels (vmfs_uuid, label, first_seen, last_seen) VALUES (${uuid}, 'qa-lab-7', now(), now())`);
    try {
      expect(labels(await search('lab-7', 25, 1))).toEqual(['qa-lab-7']);
      expect(await starts('qa-lab')).toBe(1);
      expect(await starts('test-1')).toBe(1);
      const old = await search('test-1', 25);
      expect(old.hits.filter((h) => h.type === 'volume')).toEqual([
        expect.objectContaining({ vmfsUuid: uuid, label: 'qa-lab-7', match: 'earlierLabel', earlierLabel: 'ds-test-1' }),
      ]);
    } finally {
      await queryRows(db, sql`DELETE FROM volume_labels WHERE vmfs_uuid = ${uuid} AND label = 'qa-lab-7'`);
      await queryRows(db, sql`DELETE FROM search_names WHERE kind = 'label' AND ref = ${uuid} AND name = 'qa-lab-7'`);
      await queryRows(db, sql`UPDATE volumes SET label = 'ds-test-1' WHERE vmfs_uuid = ${uuid}`);
    }
  });
});
