import { inspect } from 'node:util';
import { createManagerError, ErrorCode } from './errors';
import { TraceBuffer, traceChannel, type TraceEvent, type TraceOp } from './trace';
import { inspectSymbol, type InspectSnapshot } from './inspect';

/** What the table knows of a typeid: the names a proxy may call and the methods that return proxies. */
export interface TypeInfo {
  readonly typeid: string;
  readonly exposed: readonly string[];
  readonly methodToTypeid: Readonly<Record<string, string>>;
}

/** A read-only view of one entry of the table. */
export interface EntryInfo {
  readonly id: number;
  readonly typeid: string;
  readonly object: unknown;
  readonly type: TypeInfo;
  readonly refcount: number;
  /** The references `holder` owns. */
  countOf(holder: string): number;
}

/** The structured form of {@link ObjectTable.debugInfo}: one row per live object. */
export interface DebugEntry {
  readonly id: number;
  readonly typeid: string;
  readonly refcount: number;
  /** References per holder; the values add up to `refcount`. */
  readonly holders: Readonly<Record<string, number>>;
  /** The object's `String()` when it defines `toString`, else `util.inspect`, cut to 75 characters. */
  readonly repr: string;
}

/** Options of {@link ObjectTable}. */
export interface ObjectTableOptions {
  /** A name for trace events and messages (default `'table'`). */
  readonly name?: string;
  /** Keep the last N trace events in a ring buffer (default 0: off). */
  readonly traceBufferSize?: number;
  /** Called with every trace event (the server uses it to forward the trace). */
  readonly onTrace?: (event: TraceEvent) => void;
  /**
   * Called with each object after its own dispose hook started (the server uses it to release
   * the server-side proxies the object held, R6). A throw becomes a `dispose-error` event.
   */
  readonly onDispose?: (object: object, id: number) => void;
}

class Entry implements EntryInfo {
  /** Holders beyond the first one (the first one's count lives in the page, see {@link Page}). */
  others: Map<string, number> | undefined = undefined;
  /** The page whose arrays hold its counts; DEAD_PAGE while it is not in the table. */
  #page: Page = DEAD_PAGE;

  constructor(
    readonly id: number,
    readonly type: TypeInfo,
    readonly object: object,
  ) {}

  get typeid(): string {
    return this.type.typeid;
  }

  /** The sum of its holders' counts. */
  get refcount(): number {
    return this.#page.counts[(this.id & PAGE_MASK) << 1]!;
  }

  set refcount(value: number) {
    this.#page.counts[(this.id & PAGE_MASK) << 1] = value;
  }

  /** The first holder: the hot path's, since most objects have one holder. */
  get holder(): string | undefined {
    return this.#page.holders[this.id & PAGE_MASK];
  }

  set holder(value: string | undefined) {
    this.#page.holders[this.id & PAGE_MASK] = value;
  }

  /** The references the first holder owns. */
  get held(): number {
    return this.#page.counts[((this.id & PAGE_MASK) << 1) + 1]!;
  }

  set held(value: number) {
    this.#page.counts[((this.id & PAGE_MASK) << 1) + 1] = value;
  }

  /** Puts its counts in `page` (the index does, when the entry joins or leaves it). */
  moveTo(page: Page): void {
    this.#page = page;
  }

  /** What `JSON.stringify` shows of this view: its fields and counts, not its page. */
  toJSON(): DebugEntry {
    const holders: Record<string, number> = {};
    this.forEachHolder((holder, count) => (holders[holder] = count));
    return {
      id: this.id,
      typeid: this.typeid,
      refcount: this.refcount,
      holders,
      repr: reprOf(this.object),
    };
  }

  /** What `console.log` and `util.inspect` show: the same. */
  [inspect.custom](): string {
    return `Entry ${inspect(this.toJSON())}`;
  }

  /** The references `holder` owns. */
  countOf(holder: string): number {
    if (this.holder === holder) return this.held;
    return this.others?.get(holder) ?? 0;
  }

  /** Calls `fn` per holder with its count: the inline holder first, then the others in order. */
  forEachHolder(fn: (holder: string, count: number) => void): void {
    const holder = this.holder;
    if (holder !== undefined) fn(holder, this.held);
    this.others?.forEach((count, other) => fn(other, count));
  }
}

const PAGE_BITS = 10;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
/** The most references one entry can count (its counts are 32-bit integers). */
const MAX_REFCOUNT = 0x7fffffff;

/**
 * 1,024 consecutive ids. An entry's refcount, its first holder and that holder's count live
 * here, in arrays indexed by the id's slot, not in the entry object: an incref or decref by
 * the first holder (nearly all of them) reads and writes these arrays only, which stay in
 * the CPU's caches far longer than a million entry objects scattered over the heap would.
 * The price is paid by sparse pages: a page costs about 24 KiB (slots, holders, counts)
 * however few of its ids are live, where it cost about 8 KiB with the counts in the entries.
 */
interface Page {
  readonly slots: (Entry | undefined)[];
  /** Per slot: the first holder. */
  readonly holders: (string | undefined)[];
  /** Per slot, two numbers: the refcount, then the first holder's count. */
  readonly counts: Int32Array;
  live: number;
}

function newPage(): Page {
  return {
    slots: new Array<Entry | undefined>(PAGE_SIZE),
    holders: new Array<string | undefined>(PAGE_SIZE),
    counts: new Int32Array(PAGE_SIZE * 2),
    live: 0,
  };
}

/** Where an entry outside the table reads its counts: all zero, never written. */
const DEAD_PAGE: Page = newPage();

/**
 * Entries by id. Ids mostly grow (an id only comes back with the object that had it), so they
 * are kept in pages of 1,024 slots, found through a small array of pages; a page whose
 * entries have all gone is freed. Compared with one `Map<number, Entry>` this costs 8 bytes
 * per entry instead of ~30, and a lookup touches a small, cache-resident array and one slot.
 * Iteration is in id order.
 */
class IdIndex {
  /** Pages by page number (an array: ids are small integers that mostly grow). */
  readonly #pages: (Page | undefined)[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The page of `id`, or undefined (also when `id` is not a non-negative 32-bit integer). */
  page(id: number): Page | undefined {
    if (id >>> 0 !== id) return undefined;
    const pageNo = id >>> PAGE_BITS;
    return pageNo < this.#pages.length ? this.#pages[pageNo] : undefined;
  }

  get(id: number): Entry | undefined {
    return this.page(id)?.slots[id & PAGE_MASK];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds `entry` under its id, which must be free (a non-negative 32-bit integer). */
  set(entry: Entry): void {
    const pageNo = entry.id >>> PAGE_BITS;
    let page = this.#pages[pageNo];
    if (page === undefined) {
      page = newPage();
      // Fill any gap first: the array stays a packed list of pages (or holes as undefined).
      while (this.#pages.length < pageNo) this.#pages.push(undefined);
      this.#pages[pageNo] = page;
    }
    page.slots[entry.id & PAGE_MASK] = entry;
    entry.moveTo(page);
    page.live++;
    this.#size++;
  }

  /** Takes `id` out; its entry reads zero counts from then on. */
  delete(id: number): void {
    const page = this.page(id);
    const slot = id & PAGE_MASK;
    const entry = page?.slots[slot];
    if (page === undefined || entry === undefined) return;
    page.slots[slot] = undefined;
    page.holders[slot] = undefined;
    page.counts[slot << 1] = 0;
    page.counts[(slot << 1) + 1] = 0;
    entry.moveTo(DEAD_PAGE);
    this.#size--;
    if (--page.live === 0) this.#pages[id >>> PAGE_BITS] = undefined;
  }

  /**
   * The values in id order. Live: values deleted during the iteration are skipped and values
   * added during it (always at higher ids) are visited.
   */
  *values(): IterableIterator<Entry> {
    for (let pageNo = 0; pageNo < this.#pages.length; pageNo++) {
      const page = this.#pages[pageNo];
      if (page === undefined) continue;
      const slots = page.slots;
      for (let i = 0; i < PAGE_SIZE; i++) {
        const value = slots[i];
        if (value !== undefined) yield value;
      }
    }
  }
}

/** The holder name tables use for references owned by the server itself (proxies held inside hosted objects). */
export const SERVER_HOLDER = 'server';

const REPR_LIMIT = 75;

/**
 * The object table: hosted objects by id, with their references counted per holder.
 *
 * Rules (DESIGN.md): every reference belongs to one holder (R1); registering the
 * same object again reuses its id and adds to its count (R7); at zero the entry
 * leaves the table and the object is disposed (R6); every change is a trace
 * event (R8). Bad use throws a {@link ManagerError} and leaves the table unchanged.
 */
export class ObjectTable {
  /** The table's name, used in trace events. */
  readonly name: string;
  readonly #entries = new IdIndex();
  readonly #idsByObject = new Map<object, number>();
  /**
   * holder → the ids it holds references to (the counts are in the entries). Touched only
   * when a holder's count for an id goes from 0 to positive or back, not on every incref.
   */
  readonly #holders = new Map<string, Set<number>>();
  /**
   * Objects that left the table, with the id they had: one that comes back (a factory returning
   * a cached object, as in Python's mag.py) gets its id back, as Python's `id(obj)` would.
   */
  readonly #retired = new WeakMap<object, number>();
  readonly #pendingDisposals = new Set<Promise<void>>();
  /** Entries that reached zero while an operation was running: disposed when it ends. */
  readonly #disposeQueue: Entry[] = [];
  /** While clear() runs: the ids it dropped, whose late decrefs (from dispose hooks) are ignored. */
  #clearedIds: Set<number> | undefined;
  #depth = 0;
  #nextId = 1;
  #seq = 0;
  #buffer: TraceBuffer | undefined;
  #onTrace: ((event: TraceEvent) => void) | undefined;
  readonly #onDispose: ((object: object, id: number) => void) | undefined;

  constructor(options: ObjectTableOptions = {}) {
    checkTableOptions(options);
    this.name = options.name ?? 'table';
    const size = options.traceBufferSize ?? 0;
    if (size > 0) this.#buffer = new TraceBuffer(size);
    this.#onTrace = options.onTrace;
    this.#onDispose = options.onDispose;
  }

  /**
   * Adds `object` under `type` with one reference owned by `holder`, and returns its id.
   * If the object is already in the table, its id is returned and its count grows by one (R7).
   */
  register(object: object, type: TypeInfo, holder: string, cause?: string): number {
    checkHolder(holder, 'register');
    checkType(type);
    cause ??= `create ${type.typeid}`;
    if ((typeof object !== 'object' && typeof object !== 'function') || object === null) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `cannot register ${inspect(object)} under typeid '${type.typeid}': only objects and functions can be hosted`,
        { details: { typeid: type.typeid } },
      );
    }
    const existing = this.#idsByObject.get(object);
    if (existing !== undefined) {
      this.incref(existing, holder, cause);
      return existing;
    }
    // An object disposed earlier may come back (a factory returning a cached object): it is a
    // new entry, under the id it had.
    const retired = this.#retired.get(object);
    const id = retired ?? this.#nextId++;
    if (retired !== undefined) this.#retired.delete(object);
    const entry = new Entry(id, type, object);
    this.#entries.set(entry);
    entry.refcount = 1;
    this.#idsByObject.set(object, id);
    this.#addToHolder(entry, holder, 1);
    this.#emit('create', id, type.typeid, holder, 1, 1, cause);
    return id;
  }

  /** Gives `holder` `count` more references to `id`; returns the new refcount. */
  incref(id: number, holder: string, cause = 'incref', count = 1, op: TraceOp = 'incref'): number {
    checkHolder(holder, op, id);
    checkCount(count, op, id, holder);
    const page = this.#entries.page(id);
    const slot = id & PAGE_MASK;
    const entry = page?.slots[slot];
    if (entry === undefined) throw this.#unknownId(id, holder, op);
    const counts = page!.counts;
    const at = slot << 1;
    if (counts[at]! > MAX_REFCOUNT - count) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `${op} of id ${id} (${entry.type.typeid}) by holder '${holder}' by ${count}: its refcount would exceed ${MAX_REFCOUNT}`,
        { details: { id, holder, typeid: entry.type.typeid, count } },
      );
    }
    // The first holder's count is in the page (see Page); any other holder's in the entry.
    if (page!.holders[slot] === holder) counts[at + 1] += count;
    else this.#addToHolder(entry, holder, count);
    const refcount = (counts[at] += count);
    if (this.#untraced()) return refcount;
    this.#emit(op, id, entry.type.typeid, holder, count, refcount, cause);
    // (A trace listener may have changed it.)
    return entry.refcount;
  }

  /**
   * Takes `count` references to `id` back from `holder`; returns the new refcount.
   * At zero the entry leaves the table and its object is disposed (R6).
   */
  decref(id: number, holder: string, cause = 'decref', count = 1): number {
    checkHolder(holder, 'decref', id);
    checkCount(count, 'decref', id, holder);
    const page = this.#entries.page(id);
    const slot = id & PAGE_MASK;
    if (
      page !== undefined &&
      page.holders[slot] === holder &&
      page.counts[(slot << 1) + 1]! > count &&
      this.#disposeQueue.length === 0
    ) {
      // The common case, read and written in the page only: the first holder keeps some of
      // its references, so the entry stays, and there is nothing to dispose (a disposal left
      // queued by a throwing trace listener is run by the slow path's #leave, as before).
      const at = slot << 1;
      page.counts[at + 1] -= count;
      const refcount = (page.counts[at] -= count);
      if (this.#untraced()) return refcount;
      const entry = page.slots[slot]!;
      this.#emit('decref', id, entry.type.typeid, holder, -count, refcount, cause);
      // (A trace listener may have changed it.)
      return entry.refcount;
    }
    if (this.#clearedIds?.has(id) === true && !this.#entries.has(id)) {
      // A dispose hook run by clear() releasing a reference clear() already dropped.
      this.#emit('reject', id, '', holder, 0, 0, `${cause}: id already dropped by clear()`);
      return 0;
    }
    const entry = this.#entry(id, holder, 'decref');
    const held = entry.countOf(holder);
    if (held < count) {
      throw createManagerError(
        held === 0 ? ErrorCode.UnknownHolder : ErrorCode.InvalidOption,
        held === 0
          ? `decref of id ${id} (${entry.type.typeid}) by holder '${holder}', which holds no reference to it`
          : `decref of id ${id} (${entry.type.typeid}) by holder '${holder}' by ${count}, but it holds only ${held}: refcount would go below zero`,
        { details: { id, holder, typeid: entry.type.typeid } },
      );
    }
    this.#depth++;
    try {
      this.#removeFromHolder(entry, holder, count);
      entry.refcount -= count;
      this.#emit('decref', id, entry.type.typeid, holder, -count, entry.refcount, cause);
      if (entry.refcount === 0) this.#drop(entry, cause);
    } finally {
      this.#leave();
    }
    return entry.refcount;
  }

  /** Moves every reference `from` holds to `to` (a handoff adopted); returns how many moved. */
  adopt(from: string, to: string, cause = 'adopt'): number {
    checkHolder(from, 'adopt');
    checkHolder(to, 'adopt');
    const ids = this.#holders.get(from);
    if (ids === undefined || from === to) return 0;
    let moved = 0;
    this.#holders.delete(from);
    for (const id of ids) {
      const entry = this.#entries.get(id)!;
      const count = this.#take(entry, from);
      this.#addToHolder(entry, to, count);
      moved += count;
      this.#emit('adopt', id, entry.type.typeid, to, 0, entry.refcount, `${cause} (from ${from})`);
    }
    return moved;
  }

  /** Drops every reference `holder` owns (its thread or connection is gone, R4); returns how many. */
  releaseHolder(holder: string, cause = 'holder released'): number {
    checkHolder(holder, 'releaseHolder');
    const ids = this.#holders.get(holder);
    if (ids === undefined) return 0;
    this.#holders.delete(holder);
    let released = 0;
    this.#depth++;
    try {
      for (const id of ids) {
        const entry = this.#entries.get(id);
        if (entry === undefined) continue;
        const count = this.#take(entry, holder);
        entry.refcount -= count;
        released += count;
        this.#emit('release-holder', id, entry.type.typeid, holder, -count, entry.refcount, cause);
        if (entry.refcount === 0) this.#drop(entry, cause);
      }
    } finally {
      this.#leave();
    }
    return released;
  }

  /**
   * Drops every entry, as at shutdown: each object is disposed once, in id order.
   * Resolves when every dispose hook (sync or async) has settled.
   */
  async clear(cause = 'shutdown'): Promise<void> {
    // One entry at a time, each disposed before the next one is dropped: a dispose hook that
    // releases references to later entries (a map holding lists) still finds them in the table
    // and their holders, instead of failing with ERR_UNKNOWN_ID / ERR_UNKNOWN_HOLDER. A hook
    // releasing an entry clear() dropped before it (a list registered before its map) is ignored.
    const outermost = this.#clearedIds === undefined;
    const cleared = (this.#clearedIds ??= new Set());
    try {
      // The iteration is live: entries disposed by hooks are skipped, entries registered by
      // hooks are cleared too.
      for (const entry of this.#entries.values()) {
        this.#depth++;
        try {
          cleared.add(entry.id);
          entry.forEachHolder((holder) => this.#unindex(holder, entry.id));
          entry.holder = undefined;
          entry.held = 0;
          entry.others = undefined;
          const delta = -entry.refcount;
          entry.refcount = 0;
          this.#emit('release-holder', entry.id, entry.type.typeid, '', delta, 0, cause);
          this.#drop(entry, cause);
        } finally {
          this.#leave();
        }
      }
      await this.settled();
    } finally {
      if (outermost) this.#clearedIds = undefined;
    }
  }

  /** Resolves when every asynchronous dispose hook started so far has settled. */
  async settled(): Promise<void> {
    while (this.#pendingDisposals.size > 0) {
      await Promise.all(this.#pendingDisposals);
    }
  }

  /** The current refcount of `id`, 0 when it is not in the table. */
  refcount(id: number): number {
    return this.#entries.get(id)?.refcount ?? 0;
  }

  /** References to `id` per holder. */
  holders(id: number): Record<string, number> {
    const out: Record<string, number> = {};
    this.#entries.get(id)?.forEachHolder((holder, count) => (out[holder] = count));
    return out;
  }

  /** The references to `id` that `holder` owns (0 when none, or when `id` is not in the table). */
  countOf(id: number, holder: string): number {
    return this.#entries.get(id)?.countOf(holder) ?? 0;
  }

  /** True when every reference to `id` belongs to `holder` (false when `id` is not in the table). */
  isOnlyHeldBy(id: number, holder: string): boolean {
    const entry = this.#entries.get(id);
    return entry !== undefined && entry.holder === holder && entry.others === undefined;
  }

  /** The holders that own at least one reference. */
  holderNames(): string[] {
    return [...this.#holders.keys()];
  }

  /** References per id that `holder` owns. */
  heldBy(holder: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const id of this.#holders.get(holder) ?? []) {
      out.set(id, this.#entries.get(id)?.countOf(holder) ?? 0);
    }
    return out;
  }

  /** True when `id` is in the table. */
  has(id: number): boolean {
    return this.#entries.has(id);
  }

  /** The entry of `id` (a live, read-only view), or undefined. */
  get(id: number): EntryInfo | undefined {
    return this.#entries.get(id);
  }

  /** The id `object` is hosted under, or undefined. */
  idOf(object: object): number | undefined {
    return this.#idsByObject.get(object);
  }

  /** Python's `_number_of_objects()`: how many objects are in the table. */
  numberOfObjects(): number {
    return this.#entries.size;
  }

  /** Structured form of {@link debugInfo}, in id order. */
  entries(): DebugEntry[] {
    // Sorted: an id given back to a returning object may sit in a page made after later ones.
    return [...this.#entries.values()]
      .sort((a, b) => a.id - b.id)
      .map((entry) => {
        const holders: Record<string, number> = {};
        entry.forEachHolder((holder, count) => (holders[holder] = count));
        return {
          id: entry.id,
          typeid: entry.type.typeid,
          refcount: entry.refcount,
          holders,
          repr: reprOf(entry.object),
        };
      });
  }

  /**
   * Python's `_debug_info()`: per object `'  <id>:       refcount=<n>'` then `'    <repr>'`,
   * joined by newlines; `''` when the table is empty. With `holders: true` a third line
   * per object lists its references per holder.
   */
  debugInfo(options: { holders?: boolean } = {}): string {
    if (typeof options !== 'object' || options === null) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `debugInfo(options): options must be an object, got ${inspect(options)}`,
        { details: { option: 'options' } },
      );
    }
    return formatDebugInfo(this.entries(), options);
  }

  /** The trace events kept in the ring buffer, oldest first (empty when the buffer is off). */
  trace(): TraceEvent[] {
    return this.#buffer?.toArray() ?? [];
  }

  /** Sets (or, with undefined, removes) the function called with every trace event. */
  setTraceListener(listener: ((event: TraceEvent) => void) | undefined): void {
    if (listener !== undefined && typeof listener !== 'function') {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `setTraceListener(listener): listener must be a function or undefined, got ${inspect(listener)}`,
        { details: { option: 'listener' } },
      );
    }
    this.#onTrace = listener;
  }

  /** Turns the ring buffer on with `size` slots, or off with 0. Keeps nothing from before. */
  setTraceBufferSize(size: number): void {
    if (!Number.isInteger(size) || size < 0) {
      throw createManagerError(
        ErrorCode.InvalidOption,
        `traceBufferSize must be a non-negative integer, got ${inspect(size)}`,
        { details: { option: 'traceBufferSize' } },
      );
    }
    this.#buffer = size > 0 ? new TraceBuffer(size) : undefined;
  }

  /** Records a refused operation (a bad message, a bad decref) as a `reject` trace event. */
  traceReject(cause: string, id = 0, holder = ''): void {
    const entry = this.#entries.get(id);
    this.#emit('reject', id, entry?.type.typeid ?? '', holder, 0, entry?.refcount ?? 0, cause);
  }

  /**
   * Checks the invariants: per entry the holders' counts add up to its refcount, no entry
   * is at zero, no disposed object is still present, every holder's id is in the table.
   * Throws an `ERR_INCONSISTENT` error naming the first broken one.
   */
  assertConsistent(): void {
    let indexed = 0;
    for (const [holder, ids] of this.#holders) {
      if (ids.size === 0) inconsistent(`holder '${holder}' is indexed with no ids`);
      for (const id of ids) {
        const entry = this.#entries.get(id);
        if (entry === undefined) {
          inconsistent(
            `holder '${holder}' holds reference(s) to id ${id}, which is not in the table`,
          );
        }
        if (!(entry.countOf(holder) > 0)) {
          inconsistent(
            `holder '${holder}' is indexed for id ${id} but holds ${entry.countOf(holder)}`,
          );
        }
        indexed++;
      }
    }
    let pairs = 0;
    let size = 0;
    for (const entry of this.#entries.values()) {
      size++;
      if (entry.refcount <= 0)
        inconsistent(
          `id ${entry.id} (${entry.type.typeid}) is in the table with refcount ${entry.refcount}`,
        );
      let sum = 0;
      entry.forEachHolder((holder, count) => {
        if (!(count > 0))
          inconsistent(`holder '${holder}' holds ${count} references to id ${entry.id}`);
        if (this.#holders.get(holder)?.has(entry.id) !== true) {
          inconsistent(`holder '${holder}' of id ${entry.id} is missing from the holder index`);
        }
        sum += count;
        pairs++;
      });
      if (entry.holder === undefined && entry.others !== undefined) {
        inconsistent(`id ${entry.id} has other holders but no first holder`);
      }
      if (sum !== entry.refcount) {
        inconsistent(
          `id ${entry.id} (${entry.type.typeid}) has refcount ${entry.refcount} but its holders hold ${sum}`,
        );
      }
      if (this.#retired.has(entry.object))
        inconsistent(
          `id ${entry.id} (${entry.type.typeid}) was disposed but is still in the table`,
        );
      if (this.#idsByObject.get(entry.object) !== entry.id)
        inconsistent(`id ${entry.id} is missing from the object index`);
    }
    if (pairs !== indexed) {
      inconsistent(`the holder index has ${indexed} (holder, id) pairs but the entries ${pairs}`);
    }
    if (size !== this.#entries.size) {
      inconsistent(`the table counts ${this.#entries.size} entries but holds ${size}`);
    }
    if (this.#idsByObject.size !== this.#entries.size) {
      inconsistent(
        `the object index has ${this.#idsByObject.size} objects but the table ${this.#entries.size}`,
      );
    }
  }

  /** For the jest matchers: a snapshot of the table and its recent trace. */
  [inspectSymbol](): InspectSnapshot {
    const trace = this.trace();
    return {
      name: this.name,
      entries: this.entries(),
      trace,
      traceMissed: this.#seq - trace.length,
    };
  }

  /**
   * The number of trace events the table has made so far, recorded or not (the `seq` of the
   * last one: events are numbered from 1 whether or not anything records them).
   */
  get traceSeq(): number {
    return this.#seq;
  }

  #entry(id: number, holder: string, op: string): Entry {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw this.#unknownId(id, holder, op);
    return entry;
  }

  #unknownId(id: number, holder: string, op: string): Error {
    if (!Number.isSafeInteger(id) || id < 1) {
      return createManagerError(
        ErrorCode.UnknownId,
        `${op} of id ${inspect(id)} by holder '${holder}': no object has that id (an id is a positive integer, as register() returns)`,
        { details: { id, holder } },
      );
    }
    return createManagerError(
      ErrorCode.UnknownId,
      `${op} of id ${inspect(id)} by holder '${holder}': no object with that id is in table '${this.name}'`,
      { details: { id, holder } },
    );
  }

  #addToHolder(entry: Entry, holder: string, count: number): void {
    if (entry.holder === holder) {
      entry.held += count;
    } else if (entry.holder === undefined) {
      entry.holder = holder;
      entry.held = count;
      this.#index(holder, entry.id);
    } else {
      const others = (entry.others ??= new Map());
      const before = others.get(holder);
      if (before === undefined) this.#index(holder, entry.id);
      others.set(holder, (before ?? 0) + count);
    }
  }

  /** Takes `count` (≤ what it holds) of `holder`'s references to `entry` away. */
  #removeFromHolder(entry: Entry, holder: string, count: number): void {
    if (entry.holder === holder && entry.held > count) {
      entry.held -= count;
      return;
    }
    const left = entry.countOf(holder) - count;
    if (left === 0) {
      this.#take(entry, holder);
      this.#unindex(holder, entry.id);
    } else {
      entry.others!.set(holder, left);
    }
  }

  /** Removes every reference of `holder` from `entry` (not from the holder index); returns how many. */
  #take(entry: Entry, holder: string): number {
    const others = entry.others;
    if (entry.holder === holder) {
      const count = entry.held;
      // Promote another holder to the inline slot, so the hot path stays inline.
      if (others !== undefined) {
        const [next, nextCount] = others.entries().next().value as [string, number];
        others.delete(next);
        if (others.size === 0) entry.others = undefined;
        entry.holder = next;
        entry.held = nextCount;
      } else {
        entry.holder = undefined;
        entry.held = 0;
      }
      return count;
    }
    const count = others?.get(holder) ?? 0;
    if (count > 0) {
      others!.delete(holder);
      if (others!.size === 0) entry.others = undefined;
    }
    return count;
  }

  #index(holder: string, id: number): void {
    let ids = this.#holders.get(holder);
    if (ids === undefined) this.#holders.set(holder, (ids = new Set()));
    ids.add(id);
  }

  #unindex(holder: string, id: number): void {
    const ids = this.#holders.get(holder);
    if (ids !== undefined && ids.delete(id) && ids.size === 0) this.#holders.delete(holder);
  }

  /** Takes a zero-count entry out of the table; its disposal runs when the outermost operation ends. */
  #drop(entry: Entry, cause: string): void {
    this.#entries.delete(entry.id);
    this.#idsByObject.delete(entry.object);
    this.#disposeQueue.push(entry);
    void cause;
  }

  /**
   * Ends an operation. Only the outermost one disposes: a dispose hook that releases other
   * references in this table (a map holding lists) re-enters decref, which only queues the
   * entries it drops; this loop then disposes them in turn. No iteration is ever corrupted
   * and no hook runs while the table is half-updated.
   */
  #leave(): void {
    this.#depth--;
    if (this.#depth > 0) return;
    this.#depth++;
    try {
      let entry: Entry | undefined;
      while ((entry = this.#disposeQueue.shift()) !== undefined) this.#dispose(entry);
    } finally {
      this.#depth--;
    }
  }

  #dispose(entry: Entry): void {
    this.#retired.set(entry.object, entry.id);
    const typeid = entry.type.typeid;
    this.#emit('dispose', entry.id, typeid, '', 0, 0, 'refcount reached zero');
    const object = entry.object as Partial<AsyncDisposable & Disposable>;
    try {
      const asyncHook = object[Symbol.asyncDispose];
      const syncHook = object[Symbol.dispose];
      let result: unknown;
      if (typeof asyncHook === 'function') result = asyncHook.call(object);
      else if (typeof syncHook === 'function') result = syncHook.call(object);
      if (isPromiseLike(result)) {
        const pending: Promise<void> = Promise.resolve(result).then(
          () => {
            this.#pendingDisposals.delete(pending);
          },
          (error: unknown) => {
            this.#pendingDisposals.delete(pending);
            this.#emit('dispose-error', entry.id, typeid, '', 0, 0, describeError(error));
          },
        );
        this.#pendingDisposals.add(pending);
      }
    } catch (error) {
      this.#emit('dispose-error', entry.id, typeid, '', 0, 0, describeError(error));
    }
    if (this.#onDispose !== undefined) {
      try {
        this.#onDispose(entry.object, entry.id);
      } catch (error) {
        this.#emit('dispose-error', entry.id, typeid, '', 0, 0, describeError(error));
      }
    }
  }

  /**
   * For the fast paths, which skip building an event (and reading the entry for its typeid):
   * true, with the event's number spent as #emit would, when no event would go anywhere.
   */
  #untraced(): boolean {
    if (this.#tracing()) return false;
    this.#seq++;
    return true;
  }

  /** True when a trace event would go anywhere (ring buffer, listener, diagnostics_channel). */
  #tracing(): boolean {
    return this.#buffer !== undefined || this.#onTrace !== undefined || traceChannel.hasSubscribers;
  }

  #emit(
    op: TraceOp,
    id: number,
    typeid: string,
    holder: string,
    delta: number,
    refcount: number,
    cause: string,
  ): void {
    const seq = ++this.#seq;
    if (!this.#tracing()) return;
    const event: TraceEvent = {
      seq,
      time: performance.timeOrigin + performance.now(),
      op,
      id,
      typeid,
      holder,
      delta,
      refcount,
      cause,
      table: this.name,
    };
    this.#buffer?.push(event);
    if (this.#onTrace !== undefined) {
      try {
        this.#onTrace(event);
      } catch (error) {
        // A listener that throws must not leave the operation half done (an entry at zero never
        // disposed): its error surfaces as diagnostics_channel reports a subscriber's, as an
        // uncaught exception on the next tick.
        process.nextTick(() => {
          throw error;
        });
      }
    }
    if (traceChannel.hasSubscribers) traceChannel.publish(event);
  }
}

const TABLE_OPTIONS = ['name', 'traceBufferSize', 'onTrace', 'onDispose'];

/** Checks the options of `new ObjectTable()`: known keys, each of its type. */
function checkTableOptions(options: unknown): asserts options is ObjectTableOptions {
  const invalid = (option: string, problem: string): never => {
    throw createManagerError(ErrorCode.InvalidOption, `new ObjectTable(options): ${problem}`, {
      details: { option },
    });
  };
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    invalid('options', `options must be an object, got ${inspect(options)}`);
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!TABLE_OPTIONS.includes(key))
      invalid(key, `unknown option '${key}' (the options are ${TABLE_OPTIONS.join(', ')})`);
  }
  const { name, traceBufferSize, onTrace, onDispose } = given;
  if (name !== undefined && typeof name !== 'string')
    invalid('name', `options.name must be a string, got ${inspect(name)}`);
  if (
    traceBufferSize !== undefined &&
    (!Number.isInteger(traceBufferSize) || (traceBufferSize as number) < 0)
  )
    invalid(
      'traceBufferSize',
      `options.traceBufferSize must be a non-negative integer, got ${inspect(traceBufferSize)}`,
    );
  if (onTrace !== undefined && typeof onTrace !== 'function')
    invalid('onTrace', `options.onTrace must be a function, got ${inspect(onTrace)}`);
  if (onDispose !== undefined && typeof onDispose !== 'function')
    invalid('onDispose', `options.onDispose must be a function, got ${inspect(onDispose)}`);
}

/** Checks the type register() hosts an object under (a typeid, its exposed methods). */
function checkType(type: unknown): asserts type is TypeInfo {
  const { typeid, exposed, methodToTypeid } = (type ?? {}) as Partial<
    Record<keyof TypeInfo, unknown>
  >;
  // The table itself reads only the typeid: the other fields, checked when given, are for
  // the server and the inspectors that read entries.
  if (
    typeof type !== 'object' ||
    type === null ||
    typeof typeid !== 'string' ||
    typeid === '' ||
    (exposed !== undefined && !Array.isArray(exposed)) ||
    (methodToTypeid !== undefined &&
      (typeof methodToTypeid !== 'object' || methodToTypeid === null))
  ) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `register(object, type, holder): type must be { typeid: a non-empty string, exposed?: an array of method names, methodToTypeid?: an object }, got ${inspect(type, { depth: 1 })}`,
      { details: { option: 'type' } },
    );
  }
}

/** Formats rows in Python's `_debug_info()` shape (see {@link ObjectTable.debugInfo}). */
export function formatDebugInfo(
  entries: readonly DebugEntry[],
  options: { holders?: boolean } = {},
): string {
  return entries
    .map((row) => {
      const lines = [`  ${row.id}:       refcount=${row.refcount}`, `    ${row.repr}`];
      if (options.holders) {
        const held = Object.entries(row.holders)
          .map(([holder, count]) => `${holder}=${count}`)
          .join(', ');
        lines.push(`    holders: ${held}`);
      }
      return lines.join('\n');
    })
    .join('\n');
}

/** The text debugInfo shows for an object: its own `toString()` if it has one, else `util.inspect`. */
export function reprOf(object: unknown): string {
  let text: string;
  try {
    const own = (object as { toString?: unknown }).toString;
    text =
      typeof own === 'function' &&
      own !== Object.prototype.toString &&
      own !== Function.prototype.toString
        ? String(object)
        : inspect(object, { depth: 1, breakLength: Infinity });
  } catch (error) {
    text = `<repr failed: ${describeError(error)}>`;
  }
  return text.length > REPR_LIMIT ? text.slice(0, REPR_LIMIT) : text;
}

/** Checks a holder name; the message (built only on failure) names the operation and the id. */
function checkHolder(holder: unknown, op: string, id?: unknown): asserts holder is string {
  if (typeof holder !== 'string' || holder === '') {
    const what = id === undefined ? op : `${op} of id ${inspect(id)}`;
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${what}: holder must be a non-empty string, got ${inspect(holder)}`,
      { details: id === undefined ? { holder } : { id, holder } },
    );
  }
}

/** Checks a reference count; the message (built only on failure) names the operation, id and holder. */
function checkCount(count: number, op: string, id: unknown, holder: string): void {
  if (!Number.isInteger(count) || count < 1) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `${op} of id ${inspect(id)} by holder '${holder}': count must be a positive integer, got ${inspect(count)}`,
      { details: { id, holder, count } },
    );
  }
}

function inconsistent(message: string): never {
  throw createManagerError(ErrorCode.Inconsistent, `object table inconsistent: ${message}`);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const named = error as { name?: unknown; message?: unknown };
    return `${String(named.name ?? 'Error')}: ${String(named.message)}`;
  }
  return String(error);
}
