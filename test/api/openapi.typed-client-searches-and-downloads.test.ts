/**
 * /openapi.json is good enough for a client generator: the types openapi-typescript
 * makes from it (test/helpers/catalog-api.d.ts, `npm run openapi:client`) are current,
 * and an openapi-fetch client typed by them searches the catalog and downloads an
 * artifact over a real socket.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import createClient from 'openapi-fetch';
import openapiTS from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../helpers/catalog-api.js';
import { startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { EXTENT1, seedDatacenter, tokenFor, type Seeded } from './read-side-seed.js';

const GENERATED = join(fileURLToPath(new URL('../helpers/', import.meta.url)), 'catalog-api.d.ts');

describe('a client generated from /openapi.json', () => {
  let catalog: TestCatalog;
  let seeded: Seeded;
  let operator: string;
  beforeAll(async () => {
    catalog = await startTestCatalog('embedded', { listen: true });
    seeded = await seedDatacenter(catalog);
    operator = await tokenFor(catalog, 'operator');
  });
  afterAll(async () => catalog?.close());

  it('is generated from the document the app serves now', async () => {
    const spec = await (await catalog.request('/openapi.json', { token: null })).json();
    const fresh = await openapiTS(spec as never);
    const committed = readFileSync(GENERATED, 'utf8');
    // The committed file is the generator's output as written to disk; compare the declarations.
    const body = (s: string) => s.slice(s.indexOf('export interface paths'));
    expect(body(committed).trim(), 'test/helpers/catalog-api.d.ts is stale: run npm run openapi:client').toBe(body(fresh).trim());
  });

  it('searches by device id and downloads the artifact it leads to', async () => {
    const client = createClient<paths>({ baseUrl: catalog.url, headers: { authorization: `Bearer ${operator}` } });
    const found = await client.GET('/v1/search', { params: { query: { q: EXTENT1.deviceId.toUpperCase() } } });
    expect(found.response.status).toBe(200);
    const lun = found.data!.hits.find((h) => h.type === 'lun');
    expect(lun && lun.type === 'lun' ? lun.deviceId : null).toBe(EXTENT1.deviceId);

    const lunView = await client.GET('/v1/luns/{deviceId}', { params: { path: { deviceId: EXTENT1.deviceId } } });
    expect(lunView.response.status).toBe(200);
    const artifact = lunView.data!.artifacts.find((a) => a.kind === 'vmfs-header');
    expect(artifact).toBeDefined();
    expect(seeded.esx01.artifacts.map((a) => a.id)).toContain(artifact!.id);

    const content = await client.GET('/v1/artifacts/{id}/content', { params: { path: { id: artifact!.id } }, parseAs: 'arrayBuffer' });
    expect(content.response.status).toBe(200);
    const bytes = new Uint8Array(content.data as ArrayBuffer);
    expect(bytes.length).toBe(artifact!.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact!.sha256);
  });
});
