/**
 * Sizing, measured: what one ESX host and one storage host add to the catalog per day and
 * per year. A simulated month of daily captures goes through the real protocol into a
 * catalog on PostgreSQL (TEST_DATABASE_URL; else the embedded database), and after each
 * day the database size (pg_total_relation_size of every table), the catalog's rows and the
 * store's bytes (every object listed) are read. Printed: the per-day growth after the
 * first day, and that ×365. `npm run bench -- sizing`; SIZING_DAYS, SIZING_LUNS to change.
 *
 * The simulated hosts: an ESXi host with SIZING_LUNS LUNs (a legacy 2 MiB header dump each,
 * unchanged from day to day), one .vh.sf per volume and its inventory; a storage host with
 * its iscsitgt export (unchanged) and a zfs snapshot list that gains one snapshot per LUN a
 * day and keeps 30 (rolling, as a replication schedule does).
 */
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { buildVhSf, buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { esxcliDeviceList, esxcliExtentList, iscsitgtExport, zfsListSnapshots } from '../fixtures/text-fixtures.js';
import { createDatabase } from '../helpers/database.js';
import { ingest } from '../helpers/ingest-client.js';
import { openCatalog } from './catalog.bench.js';

const DAY = 86_400_000;
const enc = (s: string) => new TextEncoder().encode(s);
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export async function run(): Promise<void> {
  const days = Number(process.env.SIZING_DAYS ?? 30);
  const luns = Number(process.env.SIZING_LUNS ?? 10);
  const base = process.env.TEST_DATABASE_URL;
  const db = base ? await createDatabase(base, 'vrc_sizing') : null;
  const catalog = await openCatalog(db?.url);
  console.log(
    `sizing: ${days} days, 1 ESXi host with ${luns} LUNs + 1 storage host, on ${base ? 'PostgreSQL' : 'the embedded database'} and the ${catalog.services.store.kind} store`,
  );
  try {
    const devices = Array.from({ length: luns }, (_, i) => ({
      deviceId: `naa.600144f0c0ffee0000000000000${(0x100 + i).toString(16)}`,
      uuid: `5b${(0x100000 + i).toString(16)}-2b4d6e80-91a2-0050569a1b2c`.replace(/^5b1/, '5b0'),
      lun: i,
    }));
    const dumps = devices.map((d, i) =>
      buildVmfsDisk({ deviceId: d.deviceId, lun: d.lun, vmfsUuid: d.uuid, label: `ds-${i}`, dumpLength: 'legacy', noiseSeed: i + 1 }),
    );
    const vhsfs = devices.map((d, i) => buildVhSf({ vmfsUuid: d.uuid, label: `ds-${i}` }));
    const inventory = enc(
      [
        esxcliDeviceList(devices.map((d) => ({ id: d.deviceId, vendor: 'SUN', model: 'COMSTAR', sizeMb: 102400 }))),
        esxcliExtentList(devices.map((d, i) => ({ volumeName: `ds-${i}`, vmfsUuid: d.uuid, extentNumber: 0, deviceName: d.deviceId, partition: 1 }))),
      ].join('\n'),
    );
    const smf = enc(
      iscsitgtExport({
        targets: [
          {
            name: 'esx',
            iqn: 'iqn.1986-03.com.sun:02:esx',
            luns: devices.map((d) => ({ lun: d.lun, guid: d.deviceId.slice(4), backingStore: `/dev/zvol/rdsk/tank/vmfs/lun${d.lun}`, blocks: 0xc800000 })),
          },
        ],
      }),
    );
    const t0 = Date.parse('2026-01-01T02:00:00Z');
    const samples: { db: number; store: number; rows: number }[] = [];
    const started = Date.now();
    for (let day = 0; day < days; day++) {
      const at = t0 + day * DAY;
      await ingest(catalog, {
        host: 'esx01',
        hostKind: 'esxi',
        collectedAt: new Date(at),
        artifacts: [
          ...devices.map((d, i) => ({
            kind: 'vmfs-header' as const,
            fileName: `${d.deviceId}.bin`,
            sourcePath: `/vmfs/devices/disks/${d.deviceId}`,
            device: d.deviceId,
            bytes: dumps[i],
            gzip: true,
          })),
          ...devices.map((d, i) => ({
            kind: 'vh-sf' as const,
            fileName: `${d.uuid}.vh.sf`,
            sourcePath: `/vmfs/volumes/${d.uuid}/.vh.sf`,
            bytes: vhsfs[i],
            gzip: true,
          })),
          { kind: 'esx-inventory' as const, fileName: 'inventory.txt', sourcePath: 'esxcli', bytes: inventory },
        ],
      });
      const snaps = devices.flatMap((d) =>
        Array.from({ length: Math.min(30, day + 1) }, (_, k) => {
          const when = at - k * DAY;
          return { name: `tank/vmfs/lun${d.lun}@daily-${new Date(when).toISOString().slice(0, 10)}`, creation: Math.floor(when / 1000), used: 1 << 20 };
        }),
      );
      await ingest(catalog, {
        host: 'sol01',
        hostKind: 'solaris',
        collectedAt: new Date(at + 3_600_000),
        artifacts: [
          { kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', sourcePath: 'svccfg export iscsitgt', bytes: smf },
          { kind: 'zfs-snapshots', fileName: 'zfs-snapshots.txt', sourcePath: 'zfs list -t snapshot', bytes: enc(zfsListSnapshots(snaps)) },
        ],
      });
      samples.push(await measure(catalog));
    }
    const first = samples[0];
    const last = samples[samples.length - 1];
    const perDay = (k: 'db' | 'store' | 'rows') => (days > 1 ? (last[k] - first[k]) / (days - 1) : 0);
    console.log(`after day 1:   database ${mib(first.db)}, ${first.rows} rows; store ${mib(first.store)}`);
    console.log(
      `after day ${days}:  database ${mib(last.db)}, ${last.rows} rows; store ${mib(last.store)}  (${((Date.now() - started) / 1000).toFixed(1)} s to ingest)`,
    );
    console.log(`per day after the first: database +${kib(perDay('db'))}, +${perDay('rows').toFixed(0)} rows; store +${kib(perDay('store'))}`);
    console.log(
      `per year (×365):         database +${mib(perDay('db') * 365)}, +${(perDay('rows') * 365).toFixed(0)} rows; store +${mib(perDay('store') * 365)}`,
    );
    console.log('(before retention; the default GFS policy keeps about 22 captures of a year of dailies per source)');
  } finally {
    await catalog.close();
    await db?.drop();
  }
}

async function measure(catalog: Awaited<ReturnType<typeof openCatalog>>): Promise<{ db: number; store: number; rows: number }> {
  const [size] = await queryRows<{ bytes: string | number }>(
    catalog.services.db,
    sql`
    SELECT coalesce(sum(pg_total_relation_size(relid)), 0) AS bytes FROM pg_stat_user_tables`,
  );
  const tables = ['captures', 'artifacts', 'blobs', 'host_chunks', 'segments', 'extents', 'luns', 'targets', 'zfs_snapshots', 'events', 'volumes', 'hosts'];
  const [count] = await queryRows<{ rows: string | number }>(
    catalog.services.db,
    sql.raw(`SELECT ${tables.map((t) => `(SELECT count(*) FROM ${t})`).join(' + ')} AS rows`),
  );
  let store = 0;
  for await (const o of catalog.services.store.list('')) store += o.size;
  return { db: Number(size.bytes), store, rows: Number(count.rows) };
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
