/**
 * The lend log: how a thread lends a task's proxies (loan.ts), or hands proxies off to a thread
 * whose connection it knows (a directed handoff, handoff.ts), without a message, so without
 * waking the server once per task or per handoff.
 *
 * A local connection registers one SharedArrayBuffer with the server (`lendlog`, once, posted
 * at once). The thread writes each `lend` (a lease key and its ids) in it instead of posting
 * it, with its place in the connection's stream: how many messages the thread had posted on
 * the connection's port before it (`after`; anything queued in the tick is posted first). The
 * server turns each entry into a `lend` (or `direct`) message at that place, as if it had been
 * posted there, no earlier, and by the time anything that depends on it is acted on: before
 * the thread's next message that is not a method call, a create, a `lend`, an `unlend` or a
 * `reclaim` (those cannot depend on a lend, and leave it withdrawable; a directed handoff
 * placed before one is taken then), when a borrow or a claim names a key the server does not
 * know yet (or after one of those messages while a borrow or claim waits), and when a
 * connection closes. So an entry keeps its order with the thread's claims and releases, and a
 * paused connection holds it like any message. A borrow (or a claim) cannot overtake its
 * entry: the value that carries the key
 * leaves the sender after the entry was written, and the log is read through `Atomics` (each
 * entry is published by a store of the write position). A full log, or a remote connection,
 * posts the message instead.
 *
 * Layout: two int32 words (the write position, then the read position, in bytes from the
 * start of the data area), then the data area, a ring of entries:
 * `[1][key length][key (ASCII)][after (float64)][id count (uint16)][ids (float64 each)]` for a
 * lend, `[2][key length][key][after][to (float64)][tag (float64)][id count][ids]` for a
 * directed handoff, or a single `0xff` byte that sends the reader back to the start of the
 * area. Empty when both positions are equal; the writer leaves one byte free so that a full
 * ring is not read as empty.
 *
 * A lend the server has not read yet can be withdrawn (`cancel`): a task that ended without
 * using its proxies then costs the server nothing. The entry's kind byte decides, by one
 * compare-and-exchange on each side: the server turns `1` into `3` (taken) before it acts on
 * the lend, the thread turns `1` into `4` (withdrawn), and whichever comes second sees the
 * other's mark. A withdrawn entry is skipped; its key is reported, so that a late borrow of it
 * is refused at once. Whatever a read finds (lends, directed handoffs, withdrawn keys) is acted
 * on after the read: acting may resume a borrower whose held messages read this log again.
 */

const WRITE = 0;
const READ = 1;
const DATA_BYTE = 8;
/**
 * The data area's size in bytes: about 6,200 single-proxy leases, so that a caller with
 * thousands of tasks in flight (each entry stays until its task ends) keeps writing here.
 */
const DATA_BYTES = 256 * 1024;
/** Bytes in a lend log's buffer. */
export const LEND_LOG_BYTES = DATA_BYTE + DATA_BYTES;
const LEND = 1;
const DIRECT = 2;
/** A lend the server has read (it set this before acting on it). */
const TAKEN = 3;
/** A lend its thread withdrew before the server read it. */
const WITHDRAWN = 4;
const WRAP = 0xff;
/** Most ids in one logged lend; a larger lend is posted. */
const MAX_IDS = 1024;

/** Where a directed handoff goes: the receiving connection's serial and the sender's tag for the place. */
export interface DirectedTo {
  readonly to: number;
  readonly tag: number;
}

/** The thread's end: writes lends and directed handoffs. */
export class LendLogWriter {
  readonly buffer = new SharedArrayBuffer(LEND_LOG_BYTES);
  readonly #words = new Int32Array(this.buffer, 0, 2);
  readonly #data = new DataView(this.buffer, DATA_BYTE, DATA_BYTES);
  readonly #bytes = new Uint8Array(this.buffer, DATA_BYTE, DATA_BYTES);
  /**
   * Bytes written since the log was made, counting the area skipped at each wrap: the write
   * position is this modulo DATA_BYTES. An entry's byte can have been written over only once
   * this passed the entry's own count by DATA_BYTES.
   */
  #written = 0;

  /**
   * Writes a lend that comes after the connection's first `after` port messages. Returns the
   * entry's place for {@link cancel}, or -1 when it does not fit now (post it instead).
   */
  write(key: string, after: number, ids: readonly number[]): number {
    return this.#write(key, after, ids, undefined);
  }

  /** Writes a directed handoff (`direct {key, ids, to, tag}`) the same way; false when it does not fit. */
  writeDirect(key: string, after: number, ids: readonly number[], directed: DirectedTo): boolean {
    return this.#write(key, after, ids, directed) !== -1;
  }

  /** The read position when {@link wantsReclaim} last said yes (-1: never). */
  #reclaimAskedAt = -1;

  /**
   * True when the log is over half full and the server has moved on since the last time this
   * said so: then ask it to free the withdrawn lends at the head (`reclaim`) before the log
   * fills and lends must be posted. At most once per move of the server, so a head held by a
   * task still running costs one message, not one per lend.
   */
  wantsReclaim(): boolean {
    const at = Atomics.load(this.#words, WRITE);
    const read = Atomics.load(this.#words, READ);
    const used = at >= read ? at - read : DATA_BYTES - read + at;
    if (used < DATA_BYTES / 2 || read === this.#reclaimAskedAt) return false;
    this.#reclaimAskedAt = read;
    return true;
  }

  /**
   * Withdraws the lend written at `place` (what {@link write} returned): true when the server
   * had not read it, and never will; false when it has (the lease exists: end it with an
   * `unlend`).
   */
  cancel(place: number): boolean {
    // Written over since (the server read it first, so that the space came free): read.
    if (place < 0 || this.#written - place > DATA_BYTES) return false;
    return Atomics.compareExchange(this.#bytes, place % DATA_BYTES, LEND, WITHDRAWN) === LEND;
  }

  #write(
    key: string,
    after: number,
    ids: readonly number[],
    directed: DirectedTo | undefined,
  ): number {
    if (ids.length > MAX_IDS || key.length > 255) return -1;
    const size = 12 + key.length + (directed === undefined ? 0 : 16) + 8 * ids.length;
    let at = Atomics.load(this.#words, WRITE);
    const read = Atomics.load(this.#words, READ);
    if (at >= read) {
      // Free: from `at` to the end, then from the start to `read` (minus the byte kept free).
      if (DATA_BYTES - at < size) {
        if (read <= size) return -1; // not at the start either
        this.#data.setUint8(at, WRAP);
        this.#written += DATA_BYTES - at;
        at = 0;
      } else if (DATA_BYTES - at === size && read === 0) return -1;
    } else if (read - at <= size) return -1;
    const place = this.#written;
    const data = this.#data;
    data.setUint8(at, directed === undefined ? LEND : DIRECT);
    data.setUint8(at + 1, key.length);
    for (let index = 0; index < key.length; index++)
      data.setUint8(at + 2 + index, key.charCodeAt(index));
    let offset = at + 2 + key.length;
    data.setFloat64(offset, after);
    offset += 8;
    if (directed !== undefined) {
      data.setFloat64(offset, directed.to);
      data.setFloat64(offset + 8, directed.tag);
      offset += 16;
    }
    data.setUint16(offset, ids.length);
    offset += 2;
    for (const id of ids) {
      data.setFloat64(offset, id);
      offset += 8;
    }
    this.#written += offset - at;
    Atomics.store(this.#words, WRITE, offset === DATA_BYTES ? 0 : offset);
    return place;
  }
}

/**
 * The server's end: reads what a connection wrote. The buffer comes from the client, so its
 * structure is checked here (positions, kinds, lengths); a log that breaks it is read no
 * further. What an entry says (a key, ids) is checked as any `lend` message is, by the
 * server's intake, since each entry becomes one.
 */
export class LendLogReader {
  readonly #words: Int32Array;
  readonly #data: DataView;
  readonly #bytes: Uint8Array;
  /**
   * The read position, kept here: the copy in the buffer is only published for the writer
   * (a client that rewrites it cannot make the server read entries again).
   */
  #read = 0;
  #broken = false;

  /** `buffer` must be LEND_LOG_BYTES long (the intake checks). */
  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer, 0, 2);
    this.#data = new DataView(buffer, DATA_BYTE, DATA_BYTES);
    this.#bytes = new Uint8Array(buffer, DATA_BYTE, DATA_BYTES);
  }

  /** True when something is written and not read yet. */
  pending(): boolean {
    return !this.#broken && Atomics.load(this.#words, WRITE) !== this.#read;
  }

  /**
   * Reads the entries written so far whose place comes after at most `upTo` port messages, in
   * order, giving each to `take` (it stops at the first later one): a lend with no `directed`,
   * a directed handoff with it. The key of a lend its thread withdrew goes to `withdrawn`
   * instead, wherever its place. Returns what is wrong when the log breaks the format (then it
   * is read no further).
   */
  drain(
    upTo: number,
    take: (key: string, ids: number[], directed?: DirectedTo) => void,
    withdrawn: (key: string) => void = () => undefined,
  ): string | undefined {
    return this.#readEntries(upTo, true, take, withdrawn);
  }

  /**
   * Frees the space of the withdrawn lends at the head of the log (reporting their keys to
   * `withdrawn`), taking no lend: it stops at the first lend not withdrawn, or at the first
   * entry placed after `upTo` port messages. The directed handoffs met before that are taken
   * (they cannot be withdrawn, and one nobody claims would otherwise hold the head). So a
   * thread whose lends are all withdrawn (tasks that did not use their proxies) does not fill
   * its log, and no lend is taken before it must be.
   *
   * Neither callback may read this log (the read position is only final once this returns):
   * collect what they are given, and act on it after.
   */
  reclaim(
    upTo: number,
    take: (key: string, ids: number[], directed?: DirectedTo) => void,
    withdrawn: (key: string) => void,
  ): string | undefined {
    return this.#readEntries(upTo, false, take, withdrawn);
  }

  #readEntries(
    upTo: number,
    lends: boolean,
    take: (key: string, ids: number[], directed?: DirectedTo) => void,
    withdrawn: (key: string) => void,
  ): string | undefined {
    if (this.#broken) return undefined;
    const data = this.#data;
    const end = Atomics.load(this.#words, WRITE);
    let at = this.#read;
    const fail = (problem: string) => {
      this.#broken = true;
      return `lend log unreadable at byte ${at}: ${problem}`;
    };
    if (!(end >= 0 && end < DATA_BYTES)) return fail('the write position is outside the log');
    while (at !== end) {
      const kind = data.getUint8(at);
      if (kind === WRAP) {
        if (end > at) return fail('a wrap marker before the write position');
        at = 0;
        this.#read = 0;
        Atomics.store(this.#words, READ, 0);
        continue;
      }
      if (kind !== LEND && kind !== DIRECT && kind !== WITHDRAWN)
        return fail(`unknown entry kind ${kind}`);
      // An entry never wraps: it lies between `at` and the write position, or the area's end.
      const limit = end > at ? end : DATA_BYTES;
      const fixed = kind === DIRECT ? 28 : 12;
      if (at + fixed > limit) return fail('a truncated entry');
      const keyLength = data.getUint8(at + 1);
      if (at + fixed + keyLength > limit) return fail('a truncated key');
      let offset = at + 2 + keyLength;
      const after = data.getFloat64(offset);
      if (!Number.isSafeInteger(after) || after < 0) return fail(`a place ${after} in the stream`);
      // Not yet: the messages it comes after have not all been read (a withdrawn lend has no
      // place left to keep: it is skipped now). A reclaim stops at a lend too.
      if ((after > upTo || (kind === LEND && !lends)) && kind !== WITHDRAWN) return undefined;
      // One flat string (a key built a character at a time is a chain of 22 pieces, which a
      // server that remembers 65,536 ended keys would keep at about 700 bytes each).
      const key = String.fromCharCode.apply(
        null,
        this.#bytes.subarray(at + 2, at + 2 + keyLength) as unknown as number[],
      );
      offset += 8;
      let directed: DirectedTo | undefined;
      if (kind === DIRECT) {
        // Checked as any `direct` message is, by the server's intake.
        directed = { to: data.getFloat64(offset), tag: data.getFloat64(offset + 8) };
        offset += 16;
      }
      const count = data.getUint16(offset);
      offset += 2;
      if (count > MAX_IDS || offset + 8 * count > limit) return fail('a truncated id list');
      const entry = at;
      at = offset + 8 * count;
      if (at === DATA_BYTES) at = 0;
      // Taken, unless its thread withdrew it first (one of the two marks wins).
      if (kind === WITHDRAWN || (kind === LEND && !this.#take(entry))) {
        this.#read = at;
        Atomics.store(this.#words, READ, at);
        withdrawn(key);
        continue;
      }
      const ids: number[] = new Array(count);
      for (let index = 0; index < count; index++, offset += 8) ids[index] = data.getFloat64(offset);
      this.#read = at;
      // Published before the lend is acted on: the writer may reuse the space at once.
      Atomics.store(this.#words, READ, at);
      take(key, ids, directed);
    }
    return undefined;
  }

  /** Marks the lend at `at` taken; false when its thread withdrew it first. */
  #take(at: number): boolean {
    return Atomics.compareExchange(this.#bytes, at, LEND, TAKEN) === LEND;
  }
}
