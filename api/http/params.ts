/** Path and query parameters in any spelling an operator pastes, made canonical, or a 400. */
import { canonicalVmfsUuid, deviceOf } from '../../formats/ids.js';
import { timeProblem } from '../../formats/zoned-time.js';
import { ApiError } from '../errors.js';

/**
 * A VMFS UUID path or query parameter in any spelling → canonical, or 400.
 * `raw` is as the router hands it over, already percent-decoded once (a malformed
 * escape such as `%ZZ` is left as is); decoding again would turn it into a URIError.
 */
export function vmfsUuidParam(raw: string): string {
  const uuid = canonicalVmfsUuid(raw);
  if (!uuid) throw new ApiError('bad_request', `not a VMFS UUID: ${JSON.stringify(raw.slice(0, 80))} (32 hex digits, dashes optional)`);
  return uuid;
}

/** A device id path or query parameter (already decoded by the router, see vmfsUuidParam) in any spelling (naa./bare hex/upper case/vml., a `:N` partition suffix) → canonical device id, or 400. */
export function deviceIdParam(raw: string): { deviceId: string; lun: number | null } {
  const t = raw.trim();
  try {
    return deviceOf(t);
  } catch {
    throw new ApiError('bad_request', `not a device id: ${JSON.stringify(t.slice(0, 80))} (naa./eui./t10./vml. or 16/32 hex digits)`);
  }
}

/**
 * An ISO 8601 time query parameter (`at`, `since`, `until`) → Date, or 400. `Date` reads
 * years from −271821 to 275760 (`-000001-01-01T00:00:00Z` is 2 BC); PostgreSQL refuses a
 * signed year in its input syntax, so a time outside years 1–9999 was a 500 at the query.
 */
export function timeParam(name: string, raw: string): Date {
  const problem = timeProblem(raw);
  if (problem) throw new ApiError('bad_request', `${name}: ${problem}`);
  return new Date(raw);
}
