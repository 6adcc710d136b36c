import type { TransferListItem } from '@managers/proxy';
import { toErrorEnvelope } from '../error-envelope';
import { ServerErrors } from './errors';
import type { Reply } from '../protocol';
import type { SyncEndpoint } from '../sync-server';
import type { LendLogReader } from '../lend-log';
import type { Channel } from '../transport/channel';

/**
 * Where a connection is in its life:
 * - `spare`: registered ahead of time by a thread for a future handoff; holds nothing yet, and
 *   what its other end sends waits until the handoff funds it.
 * - `handoff`: funded (it owns the references of proxies in flight), not yet taken up by the
 *   receiving thread (no `hello`, no `claim`).
 * - `open`: a thread's connection (it said `hello`).
 * - `closed`: gone; its references were released (R4).
 */
export type ConnectionState = 'spare' | 'handoff' | 'open' | 'closed';

/** Releases a connection may have ignored for proxies that own nothing, at most. */
const MAX_OWED = 65_536;

/** Messages a spare (or a paused connection) may hold before it is refused: a bound on memory. */
export const MAX_HELD_MESSAGES = 4096;

/**
 * One client connection as the server sees it. Its identity is this object and the holder
 * name the server gave it; nothing a client sends can change either (no client-chosen names).
 * It owns its outbox and its teardown.
 */
export class ServerConnection {
  state: ConnectionState;
  /** Replies queued in this tick, posted together. */
  outbox: Reply[] = [];
  transfer: TransferListItem[] = [];
  /** Per queued reply: ids increfed for proxies inside it, undone if the reply cannot be posted. */
  increfs: (number[] | undefined)[] = [];
  /** Per queued reply: what it answers (typeid, id, method), for an error made at flush time. */
  details: (Record<string, unknown> | undefined)[] = [];
  scheduled = false;
  /** Flushes this connection's outbox (made once, queued as a microtask). */
  readonly flushTask: () => void;
  /** The connection that registered this one as a spare (handoff connections only). */
  madeBy: ServerConnection | undefined;
  /**
   * Messages that arrived while this connection could not act on them yet: on a spare, before
   * the handoff that funds it (the handoff travels on the sender's port, the receiver's first
   * messages on this one, and the server may read the latter first); on a connection paused by
   * a `claim`, until the claimed handoff is funded.
   */
  held: unknown[] | undefined;
  /** Set while a `claim` waits for its handoff connection to be registered or funded. */
  waitingFor: string | undefined;
  /** Whether the `hello` was received (one per connection). */
  greeted = false;
  /** Its display label (from `hello`), for messages; never an identity. */
  label = '';
  /** Replies whose delivery must be confirmed (rid → what to do if it is not). */
  undelivered: Map<number, (() => void)[]> | undefined;
  /** Ids this connection may use through leases it borrowed (id → how many leases grant it). */
  borrowed: Map<number, number> | undefined;
  /** Replies whose delivery must be confirmed (rid → what to do once it is). */
  delivered: Map<number, (() => void)[]> | undefined;
  /** Where replies to this connection's synchronous calls go (sync-server.ts), once registered. */
  sync: SyncEndpoint | undefined;
  /** Where this connection writes its lends instead of posting them (lend-log.ts), once registered. */
  lendLog: LendLogReader | undefined;
  /** How many messages arrived on its port (a logged lend's place, see lend-log.ts). */
  received = 0;
  /** True while the server acts on one of its messages (its lend log is read after). */
  busy = false;
  /**
   * Per id, releases to ignore: the proxies this client made from a claim the server refused
   * own no reference, so their releases must not take one that another of its proxies owns.
   */
  #owed: Map<number, number> | undefined;
  /** How many releases `#owed` holds in all (bounded by MAX_OWED). */
  #owedTotal = 0;
  /**
   * On a spare: the ids its handoff named that its sender did not hold (at most
   * MAX_UNFUNDED_KEPT). A receiver that adopts the spare (`hello`) made proxies for them that
   * own nothing: it owes their releases.
   */
  unfunded: number[] | undefined;
  /** On a handoff: taken up (claimed, or its receiver's `hello`), not dropped. */
  takenUp = false;
  /** Called once when the connection closes (hosted objects watching their callers). */
  closeHooks: Set<() => void> | undefined;
  /**
   * On a handoff whose sender asked to learn who takes it (directed.ts): whom to tell, under
   * the sender's tag for the place it posted to, and the receiver it already expects (no news
   * if that one takes it).
   */
  notify:
    | { readonly sender: ServerConnection; readonly tag: number; readonly expected?: number }
    | undefined;

  constructor(
    /**
     * Its public number, unique for the server's life: a sender names a receiving connection
     * by it in a directed handoff (directed.ts). It grants nothing.
     */
    readonly serial: number,
    /** The secret key a handoff or claim names this connection by (never shown). */
    readonly key: string,
    /** The server-assigned holder name its references belong to. */
    public holder: string,
    /** Its transport: a MessagePort, or a socket of another process (`remote`). */
    readonly port: Channel,
    /** True for the connection of the thread that started the manager. */
    readonly owner: boolean,
    state: ConnectionState,
    /** Gives back references taken for a reply that could not be posted. */
    private readonly undoIncrefs: (connection: ServerConnection, ids: readonly number[]) => void,
  ) {
    this.state = state;
    this.flushTask = () => this.flush();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /**
   * This client made proxies for `ids` that own no reference (a refused claim, ids a handoff's
   * sender could not fund): as many of its releases of them will be ignored, up to MAX_OWED.
   */
  owe(ids: readonly number[]): void {
    const owed = (this.#owed ??= new Map());
    for (const id of ids) {
      if (this.#owedTotal >= MAX_OWED) return;
      owed.set(id, (owed.get(id) ?? 0) + 1);
      this.#owedTotal++;
    }
  }

  /** True (and one less owed) when a release of `id` is one of those to ignore. */
  ignoresRelease(id: number): boolean {
    const owed = this.#owed?.get(id);
    if (owed === undefined) return false;
    if (owed > 1) this.#owed!.set(id, owed - 1);
    else this.#owed!.delete(id);
    this.#owedTotal--;
    return true;
  }

  /** Holds every later message until {@link resume} (a claim or a borrow waits for `key`). */
  pause(key: string): void {
    this.held = [];
    this.waitingFor = key;
  }

  /** Ends a pause; true when messages were held meanwhile (the caller replays them). */
  resume(): boolean {
    this.waitingFor = undefined;
    if (this.held === undefined) return false;
    if (this.held.length === 0) {
      this.held = undefined;
      return false;
    }
    return true;
  }

  /** Grants (or, with -1, revokes) use of `id` through a borrowed lease. */
  grant(id: number, delta: 1 | -1): void {
    const map = (this.borrowed ??= new Map());
    const count = (map.get(id) ?? 0) + delta;
    if (count > 0) map.set(id, count);
    else map.delete(id);
  }

  /** Queues a reply; the outbox is posted at the end of this tick. */
  queue(
    reply: Reply,
    transfer?: readonly TransferListItem[],
    increfs?: number[],
    details?: Record<string, unknown>,
  ): void {
    if (this.closed) {
      if (increfs) this.undoIncrefs(this, increfs);
      this.#runUndelivered(reply.rid);
      return;
    }
    if (this.sync?.claims(reply.rid)) return this.#sendSync(reply, transfer, increfs, details);
    if (this.undelivered?.has(reply.rid) || this.delivered?.has(reply.rid)) {
      // Only a value (or a proxy) reaches the caller: an error reply gives the item back at
      // once. A value may be `undefined` (a queue's item): that is still a value.
      if (reply.e !== undefined) this.#runUndelivered(reply.rid);
      else reply.a = 1;
    }
    this.outbox.push(reply);
    this.increfs.push(increfs);
    this.details.push(details);
    if (transfer?.length) this.transfer.push(...transfer);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  /**
   * The reply to a synchronous call goes through the sync channel, at once. The caller reads
   * it as soon as it is woken, so a value counts as delivered once it is sent.
   */
  #sendSync(
    reply: Reply,
    transfer: readonly TransferListItem[] | undefined,
    increfs: number[] | undefined,
    details: Record<string, unknown> | undefined,
  ): void {
    if (reply.e !== undefined) this.#runUndelivered(reply.rid);
    let failed = false;
    this.sync!.send(reply, transfer, details, () => {
      failed = true;
      if (increfs) this.undoIncrefs(this, increfs);
      this.#runUndelivered(reply.rid);
    });
    if (!failed) this.acknowledge([reply.rid], []);
  }

  /** Queues an error reply. */
  replyError(rid: number, error: unknown, details?: Record<string, unknown>): void {
    this.queue({ rid, e: toErrorEnvelope(error, details) });
  }

  /** Registers what to do if the reply to `rid` never reaches the caller. */
  onUndelivered(rid: number, undo: () => void): void {
    if (this.closed) {
      undo();
      return;
    }
    const map = (this.undelivered ??= new Map());
    const list = map.get(rid);
    if (list === undefined) map.set(rid, [undo]);
    else list.push(undo);
  }

  /** Registers what to do once the caller confirmed it has the reply to `rid`. */
  onDelivered(rid: number, done: () => void): void {
    if (this.closed) return;
    const map = (this.delivered ??= new Map());
    const list = map.get(rid);
    if (list === undefined) map.set(rid, [done]);
    else list.push(done);
  }

  /** The caller confirmed (`delivered`) or refused (a call it had given up on) these replies. */
  acknowledge(delivered: readonly number[], lost: readonly number[]): void {
    if (this.undelivered === undefined && this.delivered === undefined) return;
    for (const rid of delivered) {
      this.undelivered?.delete(rid);
      const done = this.delivered?.get(rid);
      if (done === undefined) continue;
      this.delivered!.delete(rid);
      for (const hook of done) {
        try {
          hook();
        } catch {
          // A hosted object's hook that throws must not stop the others.
        }
      }
    }
    for (const rid of lost) this.#runUndelivered(rid);
  }

  #runUndelivered(rid: number): void {
    this.delivered?.delete(rid);
    const undo = this.undelivered?.get(rid);
    if (undo === undefined) return;
    this.undelivered!.delete(rid);
    for (let i = undo.length - 1; i >= 0; i--) {
      try {
        undo[i]!();
      } catch {
        // A hosted object's undo that throws must not stop the others.
      }
    }
  }

  /**
   * Posts the replies queued in this tick as one message. If structured clone refuses the
   * batch, each reply is posted alone and the ones that cannot be cloned become
   * `ERR_UNSERIALIZABLE` errors (their proxy references are given back): one bad value never
   * costs another call its reply.
   */
  flush(): void {
    this.scheduled = false;
    const replies = this.outbox;
    const increfs = this.increfs;
    const transfer = this.transfer;
    const replyDetails = this.details;
    if (replies.length === 0) return;
    this.outbox = [];
    this.increfs = [];
    this.details = [];
    if (transfer.length) this.transfer = [];
    if (this.closed) return;
    try {
      if (replies.length === 1) this.port.postMessage(replies[0], transfer);
      else this.port.postMessage(replies, transfer);
      return;
    } catch {
      // fall through: find the replies that cannot be cloned
    }
    replies.forEach((reply, index) => {
      try {
        this.port.postMessage(
          reply,
          transfer.filter((item) => containsTransferable(reply, item)),
        );
      } catch (error) {
        const taken = increfs[index];
        if (taken) this.undoIncrefs(this, taken);
        this.#runUndelivered(reply.rid);
        const details = { ...(reply.e?.details ?? replyDetails[index] ?? {}) };
        this.port.postMessage(ServerErrors.unsendable(reply.rid, error, details));
      }
    });
  }

  /**
   * Marks the connection closed and frees everything it buffered. Replies whose delivery was
   * not confirmed are given back (newest first, so that items return to a queue's head in
   * their order), then the close hooks run. The caller releases its references.
   */
  markClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.outbox = [];
    this.increfs = [];
    this.details = [];
    this.transfer = [];
    this.held = undefined;
    this.sync?.close();
    const undelivered = this.undelivered;
    this.undelivered = undefined;
    this.delivered = undefined;
    if (undelivered !== undefined) {
      const lists = [...undelivered.values()];
      for (let i = lists.length - 1; i >= 0; i--) {
        const undo = lists[i]!;
        for (let j = undo.length - 1; j >= 0; j--) {
          try {
            undo[j]!();
          } catch {
            // see #runUndelivered
          }
        }
      }
    }
    const hooks = this.closeHooks;
    this.closeHooks = undefined;
    if (hooks !== undefined) {
      for (const hook of hooks) {
        try {
          hook();
        } catch {
          // A watcher's failure must not stop the release of the connection's references.
        }
      }
    }
  }
}

function containsTransferable(reply: Reply, item: TransferListItem): boolean {
  let found = false;
  const seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (found || typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (value === item || (ArrayBuffer.isView(value) && value.buffer === item)) {
      found = true;
      return;
    }
    if (Array.isArray(value)) value.forEach(walk);
    else if (Object.prototype.toString.call(value) === '[object Object]')
      Object.values(value).forEach(walk);
  };
  walk(reply.v);
  return found;
}
