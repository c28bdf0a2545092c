/**
 * How many bytes of request bodies the ingest routes hold in memory at once, in one catalog
 * process. A begin (or a part) is read whole, up to 64 MiB as inflated, and a chunk batch up
 * to 4 MiB, before the ingest gate (ingest/admission.ts) lets it run — read inside the gate, a
 * few slow bodies held every slot. Each route's own limit bounds one request, not how many come
 * at once: 120 gzipped begins of 60 KiB each, inflating to 60 MiB of blanks, from one collector
 * token, held 8.3 GB and left the server answering nothing, /healthz included, for minutes.
 *
 * So a body is read only within this budget: its stated length (Content-Length; a body without
 * one, the route's limit) is reserved before it is read, and a gzip body's inflated size once
 * inflated. A reservation that does not fit waits, in order, up to INGEST_WAIT_MS — its bytes
 * stay in the socket meanwhile — and is then answered 503 + Retry-After, as a full ingest
 * gate is. A gzip body takes its inflated bytes as they come; past what fits it stops inflating
 * and is a 503 at once, since waiting would hold what it inflated so far.
 * One collector token holds at most a quarter of the budget, so one host's requests wait
 * for each other, not every host for them. Bytes are given back when the request's answer is
 * made; the body is garbage then.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, Services } from '../context.js';
import { ApiError } from '../errors.js';
import { sentLength } from '../http/body-limit.js';
import { INGEST_QUEUE, INGEST_WAIT_MS } from './admission.js';
import { onePer } from '../one-per.js';

/** Body bytes the ingest routes of one process hold at once: four of the largest begins. */
export const BODY_BUDGET_BYTES = 256 * 1024 * 1024;
/** What one token may hold of it: one of the largest begins. */
export const BODY_BUDGET_PER_TOKEN_BYTES = BODY_BUDGET_BYTES / 4;
/**
 * Requests of one token waiting at once: past it, that token's next one is a 503 at once, so
 * one token's many connections cannot fill the queue every other host's requests wait in.
 */
export const BODY_BUDGET_WAITING_PER_TOKEN = 32;

interface Waiter {
  readonly key: string;
  readonly bytes: number;
  admit(): void;
  readonly timer: NodeJS.Timeout;
}

/** A byte-counting gate with a bounded, ordered queue and a share per key. */
export class BodyBudget {
  private used = 0;
  private readonly usedBy = new Map<string, number>();
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly total: number = BODY_BUDGET_BYTES,
    readonly perKey: number = BODY_BUDGET_PER_TOKEN_BYTES,
    readonly queue: number = INGEST_QUEUE,
    readonly waitMs: number = INGEST_WAIT_MS,
    readonly queuePerKey: number = BODY_BUDGET_WAITING_PER_TOKEN,
  ) {}

  /** Bytes held now, and requests waiting. */
  get load(): { used: number; waiting: number } {
    return { used: this.used, waiting: this.waiting.length };
  }

  /** Reserves `bytes` for `key`, waiting for room; answers what to call when they are given back. */
  async reserve(key: string, bytes: number): Promise<Held> {
    const want = Math.min(bytes, this.perKey);
    if (!this.blockedAhead(key) && this.fits(key, want)) return this.take(key, want);
    if (this.waiting.length >= this.queue || this.waiting.filter((w) => w.key === key).length >= this.queuePerKey) throw bodyBudgetFull();
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        bytes: want,
        admit: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(bodyBudgetFull());
          this.admitWaiting();
        }, this.waitMs),
      };
      this.waiting.push(waiter);
    });
    return this.held(key, want);
  }

  /** Whether a waiter keeps its turn before this key's new request: one of the same key, or one the whole budget holds back. */
  private blockedAhead(key: string): boolean {
    return this.waiting.some((w) => w.key === key || this.used + w.bytes > this.total);
  }

  private fits(key: string, bytes: number): boolean {
    return this.used + bytes <= this.total && (this.usedBy.get(key) ?? 0) + bytes <= this.perKey;
  }

  private take(key: string, bytes: number): Held {
    this.add(key, bytes);
    return this.held(key, bytes);
  }

  private add(key: string, bytes: number): void {
    this.used += bytes;
    this.usedBy.set(key, (this.usedBy.get(key) ?? 0) + bytes);
  }

  private held(key: string, bytes: number): Held {
    let mine = bytes;
    let unused = bytes;
    let released = false;
    return {
      grow: (more: number) => {
        const covered = Math.min(unused, Math.max(more, 0));
        unused -= covered;
        const need = more - covered;
        if (need <= 0) return true;
        if (released || !this.fits(key, need)) return false;
        this.add(key, need);
        mine += need;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.used -= mine;
        const left = (this.usedBy.get(key) ?? 0) - mine;
        if (left > 0) this.usedBy.set(key, left);
        else this.usedBy.delete(key);
        this.admitWaiting();
      },
    };
  }

  /**
   * Admits waiters in order. One that only its key's share holds back is passed over (its own
   * requests free that); one the whole budget holds back stops the pass, so a large body is
   * not passed over for ever by small ones.
   */
  private admitWaiting(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i];
      if (this.fits(w.key, w.bytes)) {
        this.waiting.splice(i, 1);
        this.add(w.key, w.bytes);
        w.admit();
      } else if (this.used + w.bytes > this.total) {
        return;
      } else {
        i++;
      }
    }
  }
}

/** Reserved bytes of one request. */
export interface Held {
  /**
   * Takes `more` bytes at once if they fit (never waits); false if they do not. What was
   * reserved and not yet grown into counts first: a gzip body's inflated bytes take the place of
   * the sent ones (those are garbage once inflated), so a body whose length was not stated,
   * reserved at the route's limit, inflates within it.
   */
  grow(more: number): boolean;
  /** Gives every byte back (once). */
  release(): void;
}

/** The 503 of a body that does not fit the budget (waited for, or inflated past it). */
export function bodyBudgetFull(): ApiError {
  return new ApiError('service_unavailable', 'the catalog is reading as many request bodies as it holds at once; retry after Retry-After seconds');
}

const budgetOf = onePer((_db: Services['db']) => new BodyBudget());

/** The body budget of one catalog (keyed by its database handle, as its ingest gate is). */
export function bodyBudgetOf(services: Pick<Services, 'db'>): BodyBudget {
  return budgetOf(services.db);
}

const heldBy = new WeakMap<Context, Held>();

/**
 * Takes `bytes` more of a gzip body as it inflates (api/http/content-encoding.ts), never waiting:
 * true when the route holds no reservation (its body is not in the budget) or they fit.
 */
export function holdInflated(c: Context, bytes: number): boolean {
  const held = heldBy.get(c);
  return !held || held.grow(bytes);
}

/**
 * Route middleware, after the token check and before the body is read: reserves the body's
 * stated length (the route's `limit` when none is stated), gives it back once answered.
 */
export function holdBody(limit: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const stated = sentLength(c);
    const bytes = stated !== undefined ? Math.min(stated, limit) : limit;
    const key = c.var.principal?.tokenId ?? 'no-token';
    const held = await bodyBudgetOf(c.var.services).reserve(key, bytes);
    heldBy.set(c, held);
    try {
      await next();
    } finally {
      held.release();
    }
  };
}
