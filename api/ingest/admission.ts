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

  /** Slots held by commit requests, by capture id. */
  private readonly byCapture = new Map<string, Set<() => void>>();

  /** Records that `leave` is the slot of a request committing `captureId`; answers the function that leaves it. */
  holdFor(captureId: string, leave: () => void): () => void {
    let held = this.byCapture.get(captureId);
    if (!held) {
      held = new Set();
      this.byCapture.set(captureId, held);
    }
    held.add(leave);
    return () => {
      const now = this.byCapture.get(captureId);
      now?.delete(leave);
      if (now?.size === 0) this.byCapture.delete(captureId);
      leave();
    };
  }

  /** Leaves the slots of the requests committing `captureId` (each leaves once). */
  releaseCapture(captureId: string): void {
    for (const leave of this.byCapture.get(captureId) ?? []) leave();
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

/**
 * Gives the slot of the commit request of this capture to the next waiter before that
 * request ends: for work left that holds no database connection (a commit waiting for the
 * shared health pass, api/events/checks.ts). Does nothing when no such request is in the
 * gate (a commit run by a job or the CLI).
 */
export function leaveIngestGate(services: Pick<Services, 'db'>, captureId: string): void {
  admissionOf(services).releaseCapture(captureId);
}

/** Route middleware: the handler runs inside the gate. */
export const admitIngest: MiddlewareHandler<AppEnv> = async (c, next) => {
  const gate = admissionOf(c.var.services);
  const leave = await gate.enter();
  // The commit route names its capture: its handler may leave early (leaveIngestGate).
  const captureId = c.req.param('id')?.toLowerCase();
  const release = captureId ? gate.holdFor(captureId, leave) : leave;
  try {
    await next();
  } finally {
    release();
  }
};
