/** Which hosts a collector token may write for. */
import { ApiError } from '../errors.js';
import type { Principal } from '../context.js';

/**
 * True when a collector token's host scope covers `host`. The scope is a host name or a
 * pattern with `*` wildcards: one SSH proxy collecting for a cluster (`esxi-*`) needs one
 * token for all its ESXi hosts, and still cannot write for the storage hosts.
 */
export function hostScopeCovers(scope: string, host: string): boolean {
  if (!scope.includes('*')) return scope === host;
  const pattern = scope
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${pattern}$`).test(host);
}

/** A collector token may only write for the host(s) of its scope; admin may write for any. */
export function assertHostAllowed(principal: Principal, host: string): void {
  if (principal.role === 'collector' && !(principal.host && hostScopeCovers(principal.host, host))) {
    throw new ApiError('forbidden', `this collector token may only write for host ${principal.host}`);
  }
}
