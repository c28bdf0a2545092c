/**
 * A start whose database holds no capture while the store holds manifests: the catalog looks
 * empty on the day it is needed, though `rebuild` would bring every capture back (a database
 * lost or made anew, a new database pointed at the old bucket). Checked once per start, only
 * when the database is empty, and then by at most one listing page of the store.
 */
import { eq } from 'drizzle-orm';
import { adminCommand } from '../../db/client.js';
import { captures } from '../../db/schema.js';
import type { Services } from '../context.js';
import { isManifestKey } from '../store/types.js';

/** Manifests counted at most: one page of an S3 listing (ListObjectsV2 answers up to 1000 keys). */
const MANIFESTS_COUNTED = 1000;

/** The line a start prints when the store holds manifests and the database no committed capture, else null. */
export async function emptyCatalogNotice(services: Pick<Services, 'db' | 'store'>): Promise<string | null> {
  const held = await services.db.select({ id: captures.id }).from(captures).where(eq(captures.state, 'committed')).limit(1);
  if (held.length > 0) return null;
  let manifests = 0;
  for await (const o of services.store.list('manifests/')) {
    if (isManifestKey(o.key)) manifests++;
    if (manifests >= MANIFESTS_COUNTED) break;
  }
  if (manifests === 0) return null;
  const counted = manifests >= MANIFESTS_COUNTED ? `${MANIFESTS_COUNTED} or more` : String(manifests);
  return `the store holds ${counted} capture manifest${manifests === 1 ? '' : 's'} but the catalog is empty: run \`${adminCommand('rebuild')}\` (or POST /v1/admin/rebuild) to recreate it from them`;
}
