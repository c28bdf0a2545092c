/**
 * GET /v1/events without `limit` answers DEFAULT_EVENT_LIMIT events and the page after them
 * through `nextBefore`, and /openapi.json says so: the parameter carried only its range
 * (1–1000), so a client paging events could not tell a full page from a short one.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT } from '../../api/read/events.js';
import { events } from '../../db/schema.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';

describeEachFlavour('GET /v1/events without limit', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const at = new Date('2026-11-01T00:00:00Z').getTime();
    await catalog.services.db.insert(events).values(
      Array.from({ length: DEFAULT_EVENT_LIMIT + 1 }, (_, i) => ({
        type: 'host-stale',
        severity: 'warning',
        host: `esx${String(i).padStart(3, '0')}`,
        message: `no capture from esx${i}`,
        createdAt: new Date(at + i * 60_000),
      })),
    );
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('answers the default number of events, then the rest through nextBefore', async () => {
    const first = (await (await catalog.request('/v1/events')).json()) as { events: Array<{ id: number }>; nextBefore: number | null };
    expect(first.events).toHaveLength(DEFAULT_EVENT_LIMIT);
    expect(first.nextBefore).not.toBeNull();
    const rest = (await (await catalog.request(`/v1/events?before=${first.nextBefore}`)).json()) as { events: unknown[]; nextBefore: number | null };
    expect(rest.events).toHaveLength(1);
  });

  it('/openapi.json names that default beside the range', async () => {
    const doc = (await (await catalog.request('/openapi.json', { token: null })).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string; description?: string; schema: { maximum?: number } }> } }>;
    };
    const limit = doc.paths['/v1/events'].get.parameters.find((p) => p.name === 'limit');
    expect(limit?.schema.maximum).toBe(MAX_EVENT_LIMIT);
    expect(limit?.description).toContain(`default ${DEFAULT_EVENT_LIMIT}`);
  });
});
