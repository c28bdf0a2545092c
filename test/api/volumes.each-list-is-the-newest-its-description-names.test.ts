/**
 * A volume or LUN view returns at most so many of each list it links to (VIEW_LIMITS: history
 * grows for years), the newest first, and /openapi.json says how many for each, as it does for
 * a host's page (HOST_VIEW_LIMITS) — only the
 * events' bound was said (as a number written beside the constant), so a client could not
 * tell a volume's 500 artifacts from all of them. Against a seeded volume with more events
 * than its bound.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { events } from '../../db/schema.js';
import { ARTIFACT_EVENTS_LIMIT, HOST_VIEW_LIMITS, VIEW_LIMITS } from '../../api/schemas/catalog.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { PROD, seedDatacenter, T0 } from './read-side-seed.js';

describeEachFlavour('a volume view and its documented bounds', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    await catalog.services.db.insert(events).values(
      Array.from({ length: VIEW_LIMITS.events + 5 }, (_, i) => ({
        type: 'label-changed',
        severity: 'info',
        vmfsUuid: PROD.vmfsUuid,
        message: `renamed ${i}`,
        createdAt: new Date(T0.getTime() + (i + 1) * 60_000),
      })),
    );
  });
  afterAll(async () => catalog?.close());

  it('answers the newest events up to the bound, newest first', async () => {
    const volume = (await (await catalog.request(`/v1/volumes/${PROD.vmfsUuid}`)).json()) as { events: Array<{ message: string; createdAt: string }> };
    expect(volume.events).toHaveLength(VIEW_LIMITS.events);
    expect(volume.events[0].message).toBe(`renamed ${VIEW_LIMITS.events + 4}`);
    const times = volume.events.map((e) => Date.parse(e.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("/openapi.json names each list's bound in the Volume and Lun shapes", async () => {
    const doc = (await (await catalog.request('/openapi.json', { token: null })).json()) as {
      components: { schemas: Record<string, { properties: Record<string, { description?: string }> }> };
    };
    for (const shape of ['Volume', 'Lun'])
      for (const [list, bound] of Object.entries(VIEW_LIMITS))
        expect([shape, list, doc.components.schemas[shape].properties[list].description]).toEqual([shape, list, expect.stringContaining(` ${bound} `)]);
    // A host's page likewise: its events, volumes, targets and captures had no bound said but the captures'.
    const host = doc.components.schemas.HostDetail as unknown as { allOf: Array<{ properties?: Record<string, { description?: string }> }> };
    const hostLists = Object.assign({}, ...host.allOf.map((part) => part.properties ?? {})) as Record<string, { description?: string }>;
    for (const [list, bound] of Object.entries(HOST_VIEW_LIMITS))
      expect([list, hostLists[list].description]).toEqual([list, expect.stringMatching(new RegExp(` ${bound}\\b`))]);
    expect(doc.components.schemas.Artifact.properties.events.description).toContain(`newest ${ARTIFACT_EVENTS_LIMIT} events`);
  });
});
