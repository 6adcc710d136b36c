import diagnosticsChannel from 'node:diagnostics_channel';

/** The name of the `node:diagnostics_channel` channel every object table publishes on. */
export const TRACE_CHANNEL_NAME = '@managers/refcount:trace';

/** What happened to a reference or an entry. */
export type TraceOp =
  /** A new entry entered the table with its first reference. */
  | 'create'
  /** A holder took one more reference. */
  | 'incref'
  /** A holder gave one reference back. */
  | 'decref'
  /** A reference was taken for a proxy in flight to another thread (R3). */
  | 'handoff'
  /** References moved from one holder to another (a received handoff adopted). */
  | 'adopt'
  /** A holder's references were all dropped at once (its thread or connection ended, R4). */
  | 'release-holder'
  /** The entry reached zero and left the table; its dispose hook ran (R6). */
  | 'dispose'
  /** The object's dispose hook threw or rejected. */
  | 'dispose-error'
  /** A message or operation was refused (bad message, bad decref …) without changing the table. */
  | 'reject';

/** One lifecycle event (R8). `delta` is the change of the entry's refcount. */
export interface TraceEvent {
  /** Increasing per table, from 1. */
  readonly seq: number;
  /** Milliseconds since the Unix epoch, with sub-millisecond precision. */
  readonly time: number;
  readonly op: TraceOp;
  /** The object's id (0 when the event concerns no object). */
  readonly id: number;
  readonly typeid: string;
  /** The holder whose count changed, or `''`. */
  readonly holder: string;
  readonly delta: number;
  /** The entry's refcount after the change. */
  readonly refcount: number;
  /** Why it happened, in words (`create Magnifier`, `thread exited`, …). */
  readonly cause: string;
  /** The table that emitted it (a manager name). */
  readonly table: string;
}

/** The diagnostics channel the trace is published on. */
// Typed by what `channel()` returns: the Channel type is generic in recent @types/node only.
export const traceChannel: ReturnType<typeof diagnosticsChannel.channel> =
  diagnosticsChannel.channel(TRACE_CHANNEL_NAME);

/** A fixed-size ring of the most recent trace events. */
export class TraceBuffer {
  readonly #events: (TraceEvent | undefined)[];
  #next = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    this.#events = new Array<TraceEvent | undefined>(capacity);
  }

  push(event: TraceEvent): void {
    this.#events[this.#next] = event;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size += 1;
  }

  /** The events held, oldest first. */
  toArray(): TraceEvent[] {
    const out: TraceEvent[] = [];
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let i = 0; i < this.#size; i++) {
      out.push(this.#events[(start + i) % this.capacity] as TraceEvent);
    }
    return out;
  }

  clear(): void {
    this.#events.fill(undefined);
    this.#next = 0;
    this.#size = 0;
  }
}

/** Options of {@link formatTrace}. */
export interface FormatTraceOptions {
  /** Print times relative to this epoch-ms instant (default: the first event's time). */
  since?: number;
}

/**
 * Formats trace events as a readable timeline, one line each:
 *
 * ```text
 *   #3   +0.210ms  incref   id=1 Magnifier  holder=main  +1 → 2  create Mag
 * ```
 */
export function formatTrace(
  events: readonly TraceEvent[],
  options: FormatTraceOptions = {},
): string {
  if (events.length === 0) return '(no trace events)';
  const origin = options.since ?? events[0]!.time;
  return events
    .map((event) => {
      const elapsed = `+${(event.time - origin).toFixed(3)}ms`;
      const delta = event.delta > 0 ? `+${event.delta}` : String(event.delta);
      const subject = event.id === 0 ? '-' : `id=${event.id} ${event.typeid}`;
      const holder = event.holder === '' ? '' : `holder=${event.holder}`;
      return [
        `#${event.seq}`.padEnd(6),
        elapsed.padStart(11),
        event.op.padEnd(14),
        subject.padEnd(22),
        holder.padEnd(22),
        `${delta.padStart(3)} → ${event.refcount}`.padEnd(10),
        event.cause,
      ]
        .join(' ')
        .trimEnd();
    })
    .join('\n');
}
