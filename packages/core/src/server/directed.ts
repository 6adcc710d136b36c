import type { ObjectTable } from '@managers/refcount';
import { DEFAULT_EXPORT_LEASE } from '../transport/limits';
import { describeIds, oweUnfunded, takeReferences } from './authority';
import type { ServerConnection } from './connection';
import type { ExportHost } from './exports';
import type { Identities } from './identities';
import { LeaseChannel } from './lease-channel';
import { RecentKeys } from './remember';

/** Directed handoffs waiting for their claim at once, at most (a bound on what clients can make the server keep). */
const MAX_DIRECTED = 65_536;
/**
 * Unclaimed directed handoffs to one receiving connection past which their senders are told to
 * forget it (`serial: 0`): a receiver that does not read its messages gets ports again, and
 * senders' handoffs to other places are not affected.
 */
const RECEIVER_SLOW = 4_096;
/**
 * Unclaimed directed handoffs tied to one receiving connection's life, at most; past that they
 * wait on the export lease instead (bounded in all by MAX_DIRECTED).
 */
const MAX_DIRECTED_PER_RECEIVER = 16_384;
/** Keys of directed handoffs refused, dropped or recalled, remembered (bounded: twice MAX_DIRECTED) so that their claim is refused at once. */
const MAX_SPENT = 131_072;

/** What the directed handoffs ask of the server around them: what exports ask, and two more. */
export interface DirectedHost extends ExportHost {
  /** True for a key that can name no handoff any more (an export's or a directed one's). */
  isSpent(key: string): boolean;
  /** Posts a notice to a client (after the replies queued for it). */
  tell(connection: ServerConnection, message: Record<string, unknown>): void;
}

/**
 * Directed handoffs (`direct {key, ids, to, tag}`): a handoff with no port, to a thread whose
 * connection the sender knows. A thread that posts proxies to the same Worker (or its
 * parentPort) again and again learns, once, which connection reads there: its first handoff
 * there is an ordinary one (a spare port), tagged, and the server tells it the serial of the
 * connection that took it up (`receiver {tag, serial}`). After that it sends no port: the
 * references in flight are taken in order with its calls and releases, as for any handoff
 * (R3), and wait under a handoff holder, named by a fresh secret key, for the receiver's
 * `claim`. They go when that receiving connection closes (its thread died before reading the
 * message: R4), as a spare's would when its port closed. A directed handoff whose receiver is
 * gone already (its connection closed) waits for the export lease instead.
 *
 * Naming a connection grants nothing: a directed handoff holds only references its sender
 * held, and only a claim with its key moves them; if another connection claims it, the sender
 * is told who did. Bounded per receiver and in all; the keys of spent ones are remembered so
 * that a late claim is refused at once.
 */
export class DirectedHandoffs {
  /** Directed handoffs waiting for their claim, per connection they are directed to. */
  readonly #byReceiver = new Map<ServerConnection, number>();
  #live = 0;
  /**
   * Keys that will never name a directed handoff: refused (over a bound), dropped with their
   * receiver, or recalled. A claim of one is refused at once, not after the claim's wait.
   */
  readonly #spent = new RecentKeys(MAX_SPENT);
  /**
   * The directed handoffs made (what `recall` may take back). One that was claimed or dropped
   * is closed, so no key finds it any more.
   */
  readonly #directed = new WeakSet<ServerConnection>();
  /** The claim being acted on while its key's `direct` may be read from the sender's log. */
  #claiming: Claiming | undefined;

  constructor(
    private readonly table: ObjectTable,
    private readonly identities: Identities,
    private readonly host: DirectedHost,
  ) {}

  /** `direct`: takes one reference per id this connection holds, for the connection `to`. */
  direct(
    connection: ServerConnection,
    key: string,
    ids: readonly number[],
    to: number,
    tag: number,
  ): void {
    if (this.identities.byKey(key) !== undefined || this.host.isSpent(key)) {
      return this.host.refuse(connection, 'direct handoff refused: its key is already in use', key);
    }
    const claiming = this.#claiming;
    if (
      claiming !== undefined &&
      !claiming.taken &&
      claiming.key === key &&
      claiming.claimer.serial === to &&
      !claiming.claimer.closed
    ) {
      claiming.taken = true;
      return this.#giveAtOnce(connection, claiming, ids);
    }
    const found = this.identities.bySerial(to);
    const receiver = found !== undefined && !found.closed ? found : undefined;
    const waiting = receiver === undefined ? 0 : (this.#byReceiver.get(receiver) ?? 0);
    if (this.#live >= MAX_DIRECTED) {
      this.#spent.add(key);
      this.host.refuse(
        connection,
        `direct handoff refused: ${MAX_DIRECTED} directed handoffs are waiting for their claim`,
        key,
      );
      // Its next handoffs there carry ports (spares are bounded per connection, not in all).
      return this.host.tell(connection, { t: 'receiver', tag, serial: 0 });
    }
    const handoff = this.host.accept(new LeaseChannel(), key, {
      owner: false,
      state: 'handoff',
      madeBy: connection,
    });
    if (handoff === undefined) return;
    handoff.notify = { sender: connection, tag, expected: to };
    // Least authority: a thread hands off only what it holds. Its receiver's proxies for the
    // others own nothing: the claim that takes it up says so (handoffs.ts, #move).
    const refused = takeReferences(
      this.table,
      connection,
      handoff.holder,
      ids,
      `directed by ${connection.holder}`,
    );
    if (refused.length) {
      this.host.refuse(
        connection,
        `direct handoff of ids this connection holds no reference to: ${describeIds(refused)}`,
        key,
      );
    }
    this.#live++;
    this.#directed.add(handoff);
    const hooks = (handoff.closeHooks ??= new Set());
    hooks.add(() => {
      this.#live--;
      // Dropped with its receiver, its lease ended, or recalled: a late claim of its key is
      // refused at once.
      if (!handoff.takenUp) this.#spent.add(key);
    });
    if (receiver !== undefined && waiting < MAX_DIRECTED_PER_RECEIVER) {
      // The receiver's death drops them, as a spare port's close would.
      const dropWithReceiver = () => this.host.close(handoff);
      (receiver.closeHooks ??= new Set()).add(dropWithReceiver);
      this.#byReceiver.set(receiver, waiting + 1);
      hooks.add(() => {
        receiver.closeHooks?.delete(dropWithReceiver);
        const left = (this.#byReceiver.get(receiver) ?? 1) - 1;
        if (left > 0) this.#byReceiver.set(receiver, left);
        else this.#byReceiver.delete(receiver);
      });
      // A receiver this far behind: its senders go back to ports for it.
      if (waiting + 1 >= RECEIVER_SLOW)
        this.host.tell(connection, { t: 'receiver', tag, serial: 0 });
    } else {
      // That connection is gone (its thread may have died, or made a new connection that may
      // still claim them), or has too many directed handoffs waiting already (it does not read
      // its messages, or another client filled its share): they wait as an export would.
      this.table.traceReject(
        receiver === undefined
          ? `directed handoff to connection ${to}, which is not open: kept for ${DEFAULT_EXPORT_LEASE} ms`
          : `directed handoff to connection ${to}, which has ${MAX_DIRECTED_PER_RECEIVER} waiting: kept for ${DEFAULT_EXPORT_LEASE} ms`,
        0,
        handoff.holder,
      );
      const timer = setTimeout(() => this.host.close(handoff), DEFAULT_EXPORT_LEASE);
      timer.unref();
      hooks.add(() => clearTimeout(timer));
      // The sender forgets that receiver: its next handoff there carries a port again.
      this.host.tell(connection, { t: 'receiver', tag, serial: 0 });
    }
    this.host.registered(key);
  }

  /**
   * Acts on `claimer`'s claim of `key` while `read` reads the lend logs (where the `direct` of
   * that key may wait, unread, in its sender's log): a `direct` of that key to that claimer read
   * meanwhile gives its references to the claimer at once, as `direct` then `claim` would,
   * without making a handoff connection that would wait for the claim. Returns whether it did;
   * if not, the claim goes on as usual.
   */
  claimWhileReading(
    claimer: ServerConnection,
    key: string,
    ids: readonly number[] | undefined,
    read: () => void,
  ): boolean {
    const claiming: Claiming = { claimer, key, ids, taken: false };
    const outer = this.#claiming;
    this.#claiming = claiming;
    try {
      read();
    } finally {
      this.#claiming = outer;
    }
    return claiming.taken;
  }

  /** A `direct` read while its receiver's claim is acted on: the references go to it at once. */
  #giveAtOnce(sender: ServerConnection, claiming: Claiming, ids: readonly number[]): void {
    const { claimer, key } = claiming;
    // Least authority, as for any directed handoff: the sender hands off only what it holds.
    // The references pass through a handoff holder of their own, with no connection behind
    // it, so the trace reads as for any handoff (`handoff`, then `adopt` by the claimer).
    const holder = this.identities.handoffHolder(sender);
    const refused = takeReferences(this.table, sender, holder, ids, `directed by ${sender.holder}`);
    if (refused.length) {
      this.host.refuse(
        sender,
        `direct handoff of ids this connection holds no reference to: ${describeIds(refused)}`,
        key,
      );
    }
    oweUnfunded(this.table, holder, claimer, claiming.ids);
    this.table.adopt(holder, claimer.holder, 'handoff claimed');
  }

  /**
   * `recall`: the sender takes back a directed handoff of its own that nobody claimed (the
   * value was not posted after all): its references are dropped. Late (claimed already), it
   * does nothing.
   */
  recall(connection: ServerConnection, key: string): void {
    const handoff = this.identities.byKey(key);
    if (handoff === undefined || handoff.madeBy !== connection || !this.#directed.has(handoff)) {
      return this.table.traceReject(
        "recall of a directed handoff that is not waiting (claimed, dropped, or not this connection's)",
        0,
        connection.holder,
      );
    }
    this.host.close(handoff);
  }

  /** True for a key whose directed handoff was refused, dropped or recalled. */
  isSpent(key: string): boolean {
    return this.#spent.has(key);
  }
}

/** A claim acted on while the logs are read (see `DirectedHandoffs.claimWhileReading`). */
interface Claiming {
  readonly claimer: ServerConnection;
  readonly key: string;
  readonly ids: readonly number[] | undefined;
  taken: boolean;
}
