/**
 * What the AWS deployment (infra/aws/stack.ts) relies on in the catalog itself: the database
 * URL read from a Secrets Manager secret (a URL, or the JSON RDS writes for a generated
 * secret — field names as in AWS::SecretsManager::SecretTargetAttachment's documentation),
 * with the host swapped for an RDS Proxy endpoint; one pooled connection without prepared
 * statements; and the scheduled maintenance pass. The secret is handed in by a stand-in
 * fetcher (no AWS here); the database is the real PostgreSQL of the test run.
 */
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openServices } from '../../api/boot.js';
import { loadConfig } from '../../api/config.js';
import { databaseUrlFromSecret } from '../../api/database-secret.js';
import { runMaintenance } from '../../api/maintenance.js';
import { createLogger } from '../../api/logger.js';
import { queryRows } from '../../db/client.js';
import { createDatabase } from '../helpers/database.js';
import { reportMissingService } from '../helpers/catalog.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:catalog-db-AbCdEf';

describe('databaseUrlFromSecret', () => {
  it('takes a URL as it is, or with the proxy host', () => {
    expect(databaseUrlFromSecret(' postgres://cat:pw@db.internal:5432/catalog \n')).toBe('postgres://cat:pw@db.internal:5432/catalog');
    expect(databaseUrlFromSecret('postgres://cat:pw@db.internal:5432/catalog', 'proxy.example')).toBe('postgres://cat:pw@proxy.example:5432/catalog');
  });

  it('builds the URL from RDS JSON, escaping what a generated password holds, with TLS required', () => {
    const password = 'p@ss:w/rd?#%&=';
    const url = new URL(
      databaseUrlFromSecret(
        JSON.stringify({ engine: 'postgres', username: 'catalog admin', password, host: 'writer.cluster.rds', port: 5432, dbname: 'catalog' }),
        'proxy.rds',
      ),
    );
    expect(decodeURIComponent(url.username)).toBe('catalog admin');
    expect(decodeURIComponent(url.password)).toBe(password);
    expect(url.hostname).toBe('proxy.rds');
    expect(url.port).toBe('5432');
    expect(url.pathname).toBe('/catalog');
    expect(url.searchParams.get('sslmode')).toBe('require');
  });

  it('refuses a secret it cannot use, saying why', () => {
    expect(() => databaseUrlFromSecret('hunter2')).toThrow(/neither a postgres:\/\/ URL nor RDS JSON/);
    expect(() => databaseUrlFromSecret('{"username":"a"}')).toThrow(/lacks username, password or host/);
  });

  it('is part of the configuration, validated at boot', () => {
    expect(() => loadConfig({ DATABASE_SECRET_ARN: 'catalog-db' })).toThrow(/DATABASE_SECRET_ARN: must be a Secrets Manager secret ARN/);
    expect(loadConfig({ DATABASE_SECRET_ARN: ARN, DATABASE_POOL_MAX: '1', DATABASE_PREPARE: 'false' })).toMatchObject({
      DATABASE_POOL_MAX: 1,
      DATABASE_PREPARE: false,
    });
  });
});

describe('a catalog opened the way the Lambda function opens it', () => {
  const dirs: string[] = [];
  const drops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const d of drops) await d();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('reads its database URL from the secret, holds one connection without prepared statements, and sweeps staging', async (ctx) => {
    if (!process.env.TEST_DATABASE_URL) {
      reportMissingService('[deploy tests] PostgreSQL not used', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');
      ctx.skip();
    }
    const db = await createDatabase(process.env.TEST_DATABASE_URL!);
    drops.push(db.drop);
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-lambda-like-'));
    dirs.push(dataDir);
    const asked: string[] = [];
    const url = new URL(db.url);
    const rdsJson = JSON.stringify({
      username: decodeURIComponent(url.username) || 'postgres',
      password: decodeURIComponent(url.password),
      host: 'unused.example',
      port: Number(url.port || 5432),
      dbname: url.pathname.slice(1),
    });
    const config = loadConfig({ DATA_DIR: dataDir, DATABASE_SECRET_ARN: ARN, DATABASE_HOST: url.hostname, DATABASE_POOL_MAX: '1', DATABASE_PREPARE: 'false' });
    // sslmode=require would refuse the test server's plain TCP: the stand-in hands back the URL form instead.
    const opened = await openServices(config, {
      logger: createLogger('silent'),
      fetchSecret: async (arn) => {
        asked.push(arn);
        return databaseUrlFromSecret(rdsJson, url.hostname).replace(/\?sslmode=require$/, '');
      },
    });
    try {
      expect(asked).toEqual([ARN]);
      expect(opened.services.dbFlavour).toBe('postgres');
      const [{ n }] = await queryRows<{ n: number }>(
        opened.services.db,
        sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${url.pathname.slice(1)}`,
      );
      expect(n).toBe(1);
      // A staged upload of a capture the catalog never saw is swept by the maintenance pass.
      const capture = '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
      const key = `staging/${capture}/${'ab'.repeat(32)}`;
      await opened.services.store.openStaging(capture);
      await opened.services.store.put(key, new TextEncoder().encode('left behind'));
      const done = await runMaintenance(opened.services);
      expect(done.sweptStaging?.deleted).toBeGreaterThanOrEqual(1);
      expect(await opened.services.store.head(key)).toBeNull();
    } finally {
      await opened.close();
    }
  });
});
