/** Pins: a capture retention must keep, with the operator's note ("pinned: <note>" in its reasons). */
import { eq } from 'drizzle-orm';
import { capturePins, captures } from '../../db/schema.js';
import type { Services } from '../context.js';
import { ApiError } from '../errors.js';

export interface PinView {
  captureId: string;
  note: string;
  pinnedAt: string;
  pinnedBy: string | null;
}

/** Pins a committed capture (again: the note is replaced). */
export async function pinCapture(services: Pick<Services, 'db' | 'now'>, captureId: string, note: string, by: string | null): Promise<PinView> {
  const id = captureId.toLowerCase();
  const text = note.trim();
  if (!text) throw new ApiError('bad_request', 'a pin needs a note saying why the capture must be kept');
  if (text.length > 500) throw new ApiError('bad_request', 'the note is longer than 500 characters');
  const [cap] = await services.db.select({ state: captures.state }).from(captures).where(eq(captures.id, id));
  if (!cap || cap.state !== 'committed') throw new ApiError('not_found', `no committed capture ${id}`);
  const row = { captureId: id, note: text, pinnedAt: services.now(), pinnedBy: by };
  await services.db
    .insert(capturePins)
    .values(row)
    .onConflictDoUpdate({ target: capturePins.captureId, set: { note: text, pinnedAt: row.pinnedAt, pinnedBy: by } });
  return { ...row, pinnedAt: row.pinnedAt.toISOString() };
}

/** Unpins a capture; not_found when it was not pinned. */
export async function unpinCapture(services: Pick<Services, 'db'>, captureId: string): Promise<void> {
  const gone = await services.db.delete(capturePins).where(eq(capturePins.captureId, captureId.toLowerCase())).returning({ id: capturePins.captureId });
  if (gone.length === 0) throw new ApiError('not_found', `capture ${captureId} is not pinned`);
}
