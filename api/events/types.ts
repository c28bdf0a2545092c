/**
 * Every event type the catalog raises, in one place: the drift a capture shows
 * (pipeline/drift.ts), the health conditions scans report (events/health.ts, events/stale.ts),
 * and stored chunks found damaged or missing (retention/check.ts, events/chunk-missing.ts).
 * The console's filter, the API's description and the types of the raisers all come from
 * these lists.
 */

/** Raised by a capture compared with the one before (api/pipeline/drift.ts). */
export const DRIFT_EVENT_TYPES = [
  'lun-id-changed',
  'device-id-changed',
  'partition-missing',
  'partition-changed',
  'label-changed',
  'header-changed',
  'parse-error',
] as const;

/**
 * Conditions that hold until a later capture or scan finds them gone (api/events/health.ts,
 * stale.ts, clock-skew.ts: a host whose collector's clock is ahead of the catalog's;
 * segment-claims.ts: a `.vh.sf` tying a segment to a volume that a header dump contradicts).
 */
export const HEALTH_EVENT_TYPES = ['target-guid-mismatch', 'backing-store-missing', 'host-stale', 'clock-skew', 'segment-claim-conflict'] as const;

/**
 * A stored chunk whose bytes no longer hash to its name (scrub, download, bundle:
 * retention/check.ts), and chunks kept artifacts reference that the store no longer shows
 * (the maintenance pass: events/chunk-missing.ts).
 */
export const STORE_EVENT_TYPES = ['chunk-corrupt', 'chunk-missing'] as const;

/** Every event type, in the order the console lists them. */
export const EVENT_TYPES = [...DRIFT_EVENT_TYPES, ...HEALTH_EVENT_TYPES, ...STORE_EVENT_TYPES] as const;

export type EventType = (typeof EVENT_TYPES)[number];
