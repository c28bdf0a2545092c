/**
 * A collector whose clock is ahead dates its captures in the future: every as-of read (restore
 * bundles, DR plans, "nothing at or before now") skips them until that time comes, and its host
 * never looks stale. The catalog knows better when it receives the capture: a collection time
 * more than CLOCK_AHEAD_TOLERANCE_MS after the receipt (the capture's first begin) is stored as
 * the receipt time. The collector's own time stays in the capture's begin request and in its
 * manifest (`collectedAt`, as sent), so `rebuild` applies this same rule and stores the same time.
 *
 * Only a clock ahead is corrected: a capture behind its receipt is ordinary (a spool delivered
 * later, `import` of old backups dated by their files). Retention's own limit (a day either way,
 * api/retention/policy.ts) is about which captures to keep; this one must be small, because a
 * capture dated even an hour ahead is hidden from every restore for that hour.
 */

/** How far after its receipt a collection time is taken as sent: clocks a few minutes apart are ordinary. */
export const CLOCK_AHEAD_TOLERANCE_MS = 10 * 60_000;

/** The collection time the catalog stores for a capture, and by how much the collector's was ahead when it was not taken. */
export interface StoredCollectionTime {
  collectedAt: Date;
  /** Milliseconds the sent time was after the receipt, when past the tolerance (then `collectedAt` is the receipt); else null. */
  aheadMs: number | null;
}

/** The rule: the sent time, unless it is more than the tolerance after the receipt. */
export function storedCollectionTime(sent: Date, receivedAt: Date): StoredCollectionTime {
  const ahead = sent.getTime() - receivedAt.getTime();
  return ahead > CLOCK_AHEAD_TOLERANCE_MS ? { collectedAt: receivedAt, aheadMs: ahead } : { collectedAt: sent, aheadMs: null };
}

/** "9600 h 3 min", "2 h 24 min", "12 min": how far a clock is ahead, as an operator reads it. */
export function describeAhead(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}
