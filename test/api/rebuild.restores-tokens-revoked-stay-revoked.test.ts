/**
 * Rebuild keeps access. Each token is kept beside the manifests as `tokens/<id>.json`
 * (hash, role, host scope, name, revocation; never the secret), so after the database is
 * lost a rebuild brings operators and collectors back in, and revoked tokens stay revoked.
 * A first start on an empty database restores them too before making a bootstrap token,
 * and never overwrites an existing `bootstrap-token` file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { hashSecret } from '../../api/admin/secrets.js';
import { ensureBootstrapToken, keepAllTokens, tokenKey } from '../../api/admin/tokens.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest, IngestHttpError } from '../helpers/ingest-client.js';
import { buildVhSf } from '../fixtures/vmfs-images.js';

interface Json {
  [k: string]: any;
}

const ALL_TABLES = 'tokens, audit, hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events';

async function wipeDatabase(catalog: TestCatalog): Promise<void> {
  await queryRows(catalog.services.db, sql.raw(`TRUNCATE ${ALL_TABLES} RESTART IDENTITY`));
}

describeEachFlavour('rebuild restores tokens', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  const createToken = async (body: Record<string, string>) => {
    const res = await catalog.request('/v1/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; token: string };
  };
  const status = async (path: string, token: string) => (await catalog.request(path, { token })).status;

  it('brings back operator, collector and admin tokens after the database is wiped; revoked stay revoked', async () => {
    const operator = await createToken({ role: 'operator', name: 'ops desk' });
    const collector = await createToken({ role: 'collector', host: 'esx-*', name: 'ssh proxy' });
    const admin = await createToken({ role: 'admin', name: 'second admin' });
    const revoked = await createToken({ role: 'operator', name: 'left the team' });
    expect((await catalog.request(`/v1/tokens/${revoked.id}`, { method: 'DELETE' })).status).toBe(200);
    await ingest(catalog, { host: 'esx-a', token: collector.token, artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf() }] });

    // The store holds each token's hash and scope, never its secret.
    const { store } = catalog.services;
    for (const t of [operator, collector, admin, revoked]) {
      const text = new TextDecoder().decode((await store.getBytes(tokenKey(t.id)))!);
      expect(text).not.toContain(t.token);
      expect(JSON.parse(text)).toMatchObject({ id: t.id, secretSha256: hashSecret(t.token) });
    }
    expect(JSON.parse(new TextDecoder().decode((await store.getBytes(tokenKey(revoked.id)))!)).revokedAt).toEqual(expect.any(String));

    await wipeDatabase(catalog);
    expect(await status('/v1/search?q=esx-a', operator.token)).toBe(401);

    const res = await catalog.request('/v1/admin/rebuild', { method: 'POST' });
    expect(res.status).toBe(200);
    const result = (await res.json()) as Json;
    expect(result).toMatchObject({ captures: 1, tokens: { restored: 4, revoked: 0 }, errors: [] });

    expect(await status('/v1/search?q=esx-a', operator.token)).toBe(200);
    expect(await status('/v1/tokens', admin.token)).toBe(200);
    expect(await status('/v1/search?q=esx-a', revoked.token)).toBe(401);
    // The collector keeps its host scope.
    await ingest(catalog, { host: 'esx-b', token: collector.token, artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ label: 'b' }) }] });
    const refused = await ingest(catalog, {
      host: 'sol01',
      token: collector.token,
      artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ label: 'c' }) }],
    }).catch((e) => e);
    expect(refused).toBeInstanceOf(IngestHttpError);
    expect((refused as IngestHttpError).status).toBe(403);

    const list = ((await (await catalog.request('/v1/tokens')).json()) as Json).tokens;
    expect(list.find((t: Json) => t.id === revoked.id)).toMatchObject({ name: 'left the team', revokedAt: expect.any(String) });
    expect(list.find((t: Json) => t.id === collector.id)).toMatchObject({ role: 'collector', host: 'esx-*', name: 'ssh proxy', revokedAt: null });

    // A second rebuild changes nothing; a revocation only the store knows is applied.
    await queryRows(catalog.services.db, sql`UPDATE tokens SET revoked_at = NULL WHERE id = ${revoked.id}`);
    const again = (await (await catalog.request('/v1/admin/rebuild', { method: 'POST' })).json()) as Json;
    expect(again.tokens).toEqual({ restored: 0, revoked: 1 });
    expect(await status('/v1/search?q=esx-a', revoked.token)).toBe(401);
  });

  it('a start writes the records of tokens the store lacks (made before records were kept), so they survive a rebuild too', async () => {
    const old = await createToken({ role: 'operator', name: 'from before' });
    const gone = await createToken({ role: 'operator', name: 'revoked before' });
    await catalog.services.store.delete(tokenKey(old.id));
    await catalog.services.store.delete(tokenKey(gone.id));
    await queryRows(catalog.services.db, sql`UPDATE tokens SET revoked_at = now() WHERE id = ${gone.id}`);
    expect(await keepAllTokens(catalog.services)).toBe(2);
    expect(await keepAllTokens(catalog.services)).toBe(0);
    await wipeDatabase(catalog);
    await catalog.request('/v1/admin/rebuild', { method: 'POST' });
    expect(await status('/v1/search?q=x', old.token)).toBe(200);
    expect(await status('/v1/search?q=x', gone.token)).toBe(401);
  });

  it('a start on a lost database restores kept tokens instead of making a new bootstrap token, and never overwrites the file', async () => {
    const admin = await createToken({ role: 'admin', name: 'bootstrap-like' });
    const file = join(catalog.dataDir, 'bootstrap-token');
    writeFileSync(file, `${admin.token}\n`, { mode: 0o600 });
    await wipeDatabase(catalog);

    // The start says so, and how in: a new host on the old bucket may have lost the file that held the secret.
    const said: string[] = [];
    expect(await ensureBootstrapToken(catalog.services, catalog.dataDir, undefined, (line) => said.push(line))).toBeNull();
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(
      /^the database held no token: \d+ came back from the store, those of the catalog that wrote it \(admin: .*"bootstrap-like".*\), so no first-start admin token was made: /,
    );
    expect(said[0]).toContain('start once with CATALOG_BOOTSTRAP_TOKEN set to a secret of your own');
    expect(await status('/v1/tokens', admin.token)).toBe(200);
    expect(readFileSync(file, 'utf8')).toBe(`${admin.token}\n`);

    // Store and database both without a usable admin: a new token, in a new file.
    await queryRows(catalog.services.db, sql`UPDATE tokens SET revoked_at = now()`);
    for await (const o of catalog.services.store.list('tokens/')) await catalog.services.store.delete(o.key);
    const created = await ensureBootstrapToken(catalog.services, catalog.dataDir, undefined);
    expect(created).not.toBeNull();
    expect(created!.file).toBe(`${file}.1`);
    expect(readFileSync(created!.file, 'utf8')).toBe(`${created!.token}\n`);
    expect(readFileSync(file, 'utf8')).toBe(`${admin.token}\n`);
    expect(await status('/v1/tokens', created!.token)).toBe(200);
    expect(await catalog.services.store.head(tokenKey(created!.id))).not.toBeNull();
  });
});
