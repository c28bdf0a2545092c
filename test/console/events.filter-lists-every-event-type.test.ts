/**
 * The events page's type filter offers every event type the catalog raises — drift, health
 * conditions and chunk-corrupt — taken from the one list of them (api/events/types.ts), where
 * it once knew only the drift types.
 */
import { expect, it } from 'vitest';
import { EventsPage } from '../../api/console/pages/events.js';
import { EVENT_TYPES } from '../../api/events/types.js';

it('the type filter offers chunk-corrupt, host-stale, target-guid-mismatch, backing-store-missing and every other type', async () => {
  const page = EventsPage({
    user: { tokenId: 't', role: 'operator', csrf: 'x' } as unknown as Parameters<typeof EventsPage>[0]['user'],
    filters: { state: 'open' },
    open: [],
    acknowledged: [],
    resolved: [],
    back: '/events',
  });
  const html = String(await page.toString());
  for (const t of ['chunk-corrupt', 'host-stale', 'target-guid-mismatch', 'backing-store-missing', ...EVENT_TYPES])
    expect(html, t).toContain(`<option value="${t}"`);
});
