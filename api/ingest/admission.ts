/**
 * Back-pressure in front of ingest: at most INGEST_IN_FLIGHT begins and commits run at once
 * per catalog process, up to INGEST_QUEUE more wait their turn (each at most INGEST_WAIT_MS),
 * and any further one is answered at once with 503 + Retry-After (`service_unavailable`,
 * api/errors.ts) — a collector spools and tries later (collector/deliver) — rather than
 * piling onto the database pool until sockets time out.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { ApiError } from '../errors.js';

export const INGEST_IN_FLIGHT = 16;
export const INGEST_QUEUE = 512;
/** Under the collector's 60 s request timeout (collector/http.ts), so a waiter is answered before it gives up. */
export const INGEST_WAIT_MS = 30_000;

/** A counting gate with a bounded queue; `enter` answers the function that leaves it. */
export class Admission {
  private running = 0;
  private readonly waiting: Array<{ admit: () => void; timer: NodeJS.Timeout }> = [];

  constructor(
    readonly inFlight: number = INGEST_IN_FLIGHT,
    readonly queue: number = INGEST_QUEUE,
    readonly waitMs: number = INGEST_WAIT_MS,
  ) {}

  /** Requests running now, and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async enter(): Promise<() => void> {
    if (this.running < this.inFlight) {
      this.running++;
      return this.leaver();
    }
    if (this.waiting.length >= this.queue) throw busy();
    await new Promise<void>((resolve, reject) => {
      const entry = {
        admit: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(busy());
        }, this.waitMs),
      };
      this.waiting.push(entry);
    });
    // The slot of the request that left was handed over: `running` stays as it was.
    return this.leaver();
  }

  private leaver(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next) next.admit();
      else this.running--;
    };
  }
}

function busy(): ApiError {
  return new ApiError('service_unavailable', 'the catalog is busy with other captures; retry after Retry-After seconds');
}

const gates = new WeakMap<object, Admission>();

/** The admission gate of one catalog (keyed by its database handle, shared by the routes of one app). */
export function admissionOf(services: Pick<Services, 'db'>): Admission {
  let gate = gates.get(services.db);
  if (!gate) {
    gate = new Admission();
    gates.set(services.db, gate);
  }
  return gate;
}

/** Route middleware: the handler runs inside the gate. */
export const admitIngest: MiddlewareHandler<AppEnv> = async (c, next) => {
  const leave = await admissionOf(c.var.services).enter();
  try {
    await next();
  } finally {
    leave();
  }
};
