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
 * (the catalog keeps each capture's host name as the collector sent it).
 */
export function hostScopeCovers(scope: string, host: string): boolean {
  if (!scope.includes('*')) return scope.toLowerCase() === host.toLowerCase();
  const pattern = scope
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${pattern}$`, 'i').test(host);
}

/** A collector token may only write for the host(s) of its scope; admin may write for any. */
export function assertHostAllowed(principal: Principal, host: string): void {
  if (principal.role === 'collector' && !(principal.host && hostScopeCovers(principal.host, host))) {
    throw new ApiError('forbidden', `this collector token may only write for host ${principal.host}`);
  }
}
