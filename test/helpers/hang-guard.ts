/** A per-input hang guard for the property-based fuzz suites. */
import fc from 'fast-check';

/**
 * Per-input wall-clock guard: "each parser finishes in bounded time" as a property of each
 * input, not only of the whole file's timeout. A hang detector, not a speed assertion — the
 * limit is orders of magnitude above any input's real time (the slowest one is printed), so
 * only a runaway input (catastrophic backtracking, a loop that all but never ends) trips it,
 * and fast-check then shrinks that input. The parsers are synchronous: a truly endless loop
 * cannot be interrupted from the same thread and is still ended by the test timeout.
 */
export const HANG_LIMIT_MS = 2000;

export interface HangGuard {
  /** Runs one input's check, failing it when it took over the limit. */
  check<T>(fn: () => T): T;
  /** Prints the slowest input's time (once per parser). */
  report(): void;
}

export function hangGuard(parser: string, limitMs = HANG_LIMIT_MS): HangGuard {
  let slowest = 0;
  let inputs = 0;
  return {
    check<T>(fn: () => T): T {
      const started = performance.now();
      const out = fn();
      const took = performance.now() - started;
      inputs++;
      if (took > slowest) slowest = took;
      if (took > limitMs) throw new Error(`${parser}: an input took ${took.toFixed(0)} ms, over the ${limitMs} ms hang limit`);
      return out;
    },
    report() {
      console.log(`[fuzz] ${parser}: slowest of ${inputs} inputs took ${slowest.toFixed(1)} ms (hang limit ${limitMs} ms)`);
    },
  };
}

/** fc.assert with every input under a hang guard; prints the slowest input's time even when the property fails. */
export function assertGuarded<T>(parser: string, arb: fc.Arbitrary<T>, predicate: (input: T) => unknown, runs: number, seed?: number): void {
  const guard = hangGuard(parser);
  try {
    fc.assert(
      fc.property(arb, (input) => {
        guard.check(() => predicate(input));
      }),
      seed === undefined ? { numRuns: runs } : { numRuns: runs, seed },
    );
  } finally {
    guard.report();
  }
}
