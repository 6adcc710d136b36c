import type { TraceEvent } from '@managers/refcount';

/** What the store knows of one object id beyond its trace events. */
export interface ObjectHistory {
  /** The time of its `create` event, when the store saw it. */
  created: number | undefined;
  /** When the inspector first saw the object (its create event, or the first snapshot listing it). */
  firstSeen: number;
  /** Events that raised its refcount, and events that lowered it, since it was created or first seen. */
  increments: number;
  decrements: number;
  /** Its events, oldest first (at most {@link LIFE_LIMIT}). */
  readonly events: TraceEvent[];
  /** Set when it was disposed (kept for a while so its life can still be shown). */
  disposed: number | undefined;
}

/** The most events kept for one object's life (the first are kept, then the most recent). */
export const LIFE_LIMIT = 1000;
/** How many disposed objects' lives are kept. */
const DISPOSED_KEPT = 200;

/**
 * The inspector's memory of the trace: the recent events (a bounded list), each object's life,
 * when each holder appeared and when it ended. Fed in `seq` order, duplicates ignored.
 */
export class TraceStore {
  readonly #limit: number;
  #events: TraceEvent[] = [];
  #lastSeq = 0;
  readonly #objects = new Map<number, ObjectHistory>();
  readonly #disposed: number[] = [];
  /** Holder → the time its first reference was taken (in the store's window). */
  readonly #holderSince = new Map<string, number>();
  /** Holder → the time all its references were dropped at once (its connection closed). */
  readonly #holderEnded = new Map<string, number>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The highest `seq` stored. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Stores `event`; returns false for one already stored (its `seq` is not new). */
  add(event: TraceEvent): boolean {
    if (event.seq <= this.#lastSeq) return false;
    this.#lastSeq = event.seq;
    this.#events.push(event);
    if (this.#events.length > this.#limit * 1.25) this.#events = this.#events.slice(-this.#limit);
    if (event.holder !== '' && event.delta > 0 && !this.#holderSince.has(event.holder))
      this.#holderSince.set(event.holder, event.time);
    if (event.op === 'adopt' && !this.#holderSince.has(event.holder))
      this.#holderSince.set(event.holder, event.time);
    if (event.op === 'release-holder' && event.holder !== '')
      this.#holderEnded.set(event.holder, event.time);
    if (event.id !== 0) this.#record(event);
    return true;
  }

  #record(event: TraceEvent): void {
    let history = this.#objects.get(event.id);
    if (history === undefined || (event.op === 'create' && history.disposed !== undefined)) {
      history = {
        created: undefined,
        firstSeen: event.time,
        increments: 0,
        decrements: 0,
        events: history?.events ?? [],
        disposed: undefined,
      };
      this.#objects.set(event.id, history);
    }
    if (event.op === 'create') {
      history.created = event.time;
      history.disposed = undefined;
      history.increments = 0;
      history.decrements = 0;
    }
    if (event.delta > 0 && event.op !== 'create') history.increments++;
    if (event.delta < 0) history.decrements++;
    if (history.events.length >= LIFE_LIMIT) history.events.splice(LIFE_LIMIT / 2, 1);
    history.events.push(event);
    if (event.op === 'dispose') {
      history.disposed = event.time;
      this.#disposed.push(event.id);
      if (this.#disposed.length > DISPOSED_KEPT) {
        const old = this.#disposed.shift()!;
        if (this.#objects.get(old)?.disposed !== undefined) this.#objects.delete(old);
      }
    }
  }

  /** Notes that a snapshot lists `id` (an object created before the store's window). */
  seen(id: number, now: number): void {
    if (!this.#objects.has(id)) {
      this.#objects.set(id, {
        created: undefined,
        firstSeen: now,
        increments: 0,
        decrements: 0,
        events: [],
        disposed: undefined,
      });
    }
  }

  /** The recent events, oldest first. */
  events(): readonly TraceEvent[] {
    return this.#events.length > this.#limit ? this.#events.slice(-this.#limit) : this.#events;
  }

  /** What the store knows of `id`. */
  object(id: number): ObjectHistory | undefined {
    return this.#objects.get(id);
  }

  /** When `holder` took its first reference, if the store saw it. */
  holderSince(holder: string): number | undefined {
    return this.#holderSince.get(holder);
  }

  /** When `holder`'s references were all dropped (its connection closed), if they were. */
  holderEnded(holder: string): number | undefined {
    return this.#holderEnded.get(holder);
  }
}
