/** Which hosts a collector token may write for. */
import { ApiError } from '../errors.js';
import type { Principal } from '../context.js';
import { hostNameProblem } from './limits.js';

/**
 * Why `scope` cannot be a collector token's host scope, or null: a host name as captures take
 * it (hostNameProblem), where `*` may stand for any run of characters. A token whose scope no
 * capture could name would be refused on every write.
 */
export function hostScopeProblem(scope: string): string | null {
  const problem = hostNameProblem(scope.replaceAll('*', 'x'));
  return problem && `host ${JSON.stringify(scope.slice(0, 300))} ${problem} (with * for any characters)`;
}

/**
 * True when a collector token's host scope covers `host`. The scope is a host name or a
 * pattern with `*` wildcards: one SSH proxy collecting for a cluster (`esxi-*`) needs one
 * token for all its ESXi hosts, and still cannot write for the storage hosts. Letter case
 * does not count, as in DNS: a token for esx01 covers ESX01, the name an ESXi host may report
 * (the catalog keeps each capture's host name as sent). A `*` stands for any run of characters
 * but `/`. Matched in at most (scope length × host length) steps: the regular expression this
 * was (`^[^/]*-[^/]*-…$`) backtracked exponentially in the stars, and the host is the
 * collector's to choose — a scope of twelve stars took 2.3 s of the event loop for a host of 30
 * characters that it did not cover, and one of 40 did not end in two minutes.
 */
export function hostScopeCovers(scope: string, host: string): boolean {
  const p = scope.toLowerCase();
  const h = host.toLowerCase();
  if (!p.includes('*')) return p === h;
  if (h.includes('/')) return false; // no scope holds one (hostScopeProblem), and no star spans one
  // Greedy, going back only to the latest star: each star's run grows by one at a time.
  let i = 0;
  let j = 0;
  let star = -1;
  let from = 0;
  while (j < h.length) {
    if (i < p.length && p[i] === '*') {
      star = i++;
      from = j;
    } else if (i < p.length && p[i] === h[j]) {
      i++;
      j++;
    } else if (star >= 0) {
      i = star + 1;
      j = ++from;
    } else {
      return false;
    }
  }
  while (p[i] === '*') i++;
  return i === p.length;
}

/** The answer to a capture id the catalog does not hold, or one a collector token may not touch (assertCaptureOfScope). */
export function noSuchCapture(captureId: string): ApiError {
  return new ApiError('not_found', `no capture ${captureId}; begin it first with POST /v1/captures`);
}

/**
 * A collector token may only touch the captures of the host(s) of its scope; for another
 * host's capture it is answered as for a capture id the catalog does not hold (404, the same
 * code and message), so its token cannot learn that an id it saw or guessed exists, or when it
 * is committed. Admin may touch any.
 */
export function assertCaptureOfScope(principal: Principal, host: string, captureId: string): void {
  if (principal.role === 'collector' && !(principal.host && hostScopeCovers(principal.host, host))) throw noSuchCapture(captureId);
}

/** A collector token may only write for the host(s) of its scope; admin may write for any. */
export function assertHostAllowed(principal: Principal, host: string): void {
  if (principal.role === 'collector' && !(principal.host && hostScopeCovers(principal.host, host))) {
    throw new ApiError('forbidden', `this collector token may only write for host ${principal.host}`);
  }
}
