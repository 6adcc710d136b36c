import type { MessagePort } from 'node:worker_threads';
import type { ObjectTable } from '@managers/refcount';
import type { Channel } from '../transport/channel';
import { describeIds, oweUnfunded, takeReferences } from './authority';
import type { ServerConnection } from './connection';
import type { Identities } from './identities';

/** Unfunded spares one connection may keep registered at once. */
const MAX_SPARES_PER_CONNECTION = 64;
/** Closed unfunded spares remembered (see Handoffs.#closedUnfunded). */
const MAX_CLOSED_UNFUNDED = 4096;
/** How long a claim waits for its handoff connection to be registered and funded. */
const CLAIM_WAIT_MS = 10_000;
/** Unfunded ids a spare keeps for its adopter (see ServerConnection.unfunded). */
const MAX_UNFUNDED_KEPT = 1024;

/** What the handoff part asks of the server around it. */
export interface HandoffHost {
  /** Serves a new connection (a spare's server end). */
  accept(
    port: Channel,
    key: string,
    options: { owner: boolean; state: 'spare'; madeBy: ServerConnection },
  ): ServerConnection | undefined;
  /** Acts on the messages a connection held back, in order. */
  replay(connection: ServerConnection): void;
  /** Closes a connection from the server's side (its references are released). */
  close(connection: ServerConnection): void;
  /** Tells a client something it asked for was refused (never a silent drop). */
  refuse(connection: ServerConnection, reason: string, key?: string): void;
  /** True for a key that can name no handoff any more (an export's or a directed one's). */
  isSpent(key: string): boolean;
  /** Posts a notice to a client (after the replies queued for it). */
  tell(connection: ServerConnection, message: Record<string, unknown>): void;
}

/**
 * Handoff (R3), from the server's side.
 *
 * A thread registers a spare connection ahead of time (`spare`: a port and a secret key). To
 * send proxies it funds that spare on its own connection (`handoff`: one in-flight reference
 * per id, in order with its calls and releases, before the message leaves), and the spare's
 * other end travels with the message. The receiver either makes the port its connection (its
 * `hello` arrives on it), or, if it has a connection already, `claim`s the spare's references
 * on that connection by its key: the claim is ordered with the receiver's own later calls and
 * releases, so nothing can overtake it and no confirmation is needed. The server then closes
 * the spare. If the message is never read (the receiver died), the spare's port closes and its
 * references are dropped.
 *
 * Ports and the sender's connection are different queues: a receiver's first messages (or its
 * claim) may arrive before the handoff that funds the spare. A spare holds what arrives on it
 * until it is funded; a claim of a spare that is not funded yet (or not yet registered) pauses
 * the claiming connection until it is.
 */
export class Handoffs {
  /** Claims waiting for their spare: spare key → the paused claiming connection. */
  readonly #waiting = new Map<
    string,
    { claimer: ServerConnection; timer: NodeJS.Timeout; ids: readonly number[] | undefined }
  >();
  /**
   * Spares closed before their handoff arrived (the receiver died, or the message was dropped
   * and its port closed), by key → the connection that made them: their late handoff is no
   * error of the sender's. Bounded: the oldest are forgotten.
   */
  readonly #closedUnfunded = new Map<string, ServerConnection>();
  /** Unfunded spares per connection that registered them. */
  readonly #spares = new Map<ServerConnection, Set<ServerConnection>>();

  constructor(
    private readonly table: ObjectTable,
    private readonly identities: Identities,
    private readonly host: HandoffHost,
  ) {}

  /** How many claims wait for their handoff. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** `spare`: registers a connection for a later handoff. */
  spare(connection: ServerConnection, key: string, port: MessagePort): void {
    const mine = this.#spares.get(connection);
    if (this.identities.byKey(key) !== undefined) {
      port.close();
      return this.host.refuse(connection, 'spare refused: its key is already in use', key);
    }
    if (mine !== undefined && mine.size >= MAX_SPARES_PER_CONNECTION) {
      port.close();
      return this.host.refuse(
        connection,
        `spare refused: this connection already has ${MAX_SPARES_PER_CONNECTION} unused spares`,
        key,
      );
    }
    const spare = this.host.accept(port, key, { owner: false, state: 'spare', madeBy: connection });
    if (spare === undefined) return;
    spare.held = [];
    if (mine === undefined) this.#spares.set(connection, new Set([spare]));
    else mine.add(spare);
    // A claim may have arrived before the spare was registered.
    this.#settleWaiting(key);
  }

  /**
   * `handoff`: funds a spare this connection registered with one reference per id. With a
   * `tag` (the sender's name for the place it posts to), the sender is told which connection
   * takes the handoff up, for its directed handoffs there (directed.ts).
   */
  fund(connection: ServerConnection, key: string, ids: readonly number[], tag?: number): void {
    const spare = this.identities.byKey(key);
    if (spare === undefined && this.#closedUnfunded.get(key) === connection) {
      // Its receiver closed it first: nothing to take, nothing to tell the sender.
      this.#closedUnfunded.delete(key);
      return this.table.traceReject(
        'handoff to a spare its receiver closed first: nothing taken',
        0,
        connection.holder,
      );
    }
    if (spare === undefined || spare.madeBy !== connection || spare.state !== 'spare') {
      return this.host.refuse(
        connection,
        'handoff refused: the key names no unused spare of this connection',
        key,
      );
    }
    this.#spares.get(connection)?.delete(spare);
    // Least authority: a thread hands off only what it holds.
    const refused = takeReferences(
      this.table,
      connection,
      spare.holder,
      ids,
      `handoff from ${connection.holder}`,
    );
    spare.state = 'handoff';
    if (tag !== undefined) spare.notify = { sender: connection, tag };
    if (refused.length) {
      spare.unfunded = refused.slice(0, MAX_UNFUNDED_KEPT);
      this.table.traceReject(
        `handoff of ids this connection does not hold: ${describeIds(refused)}`,
        refused[0],
        connection.holder,
      );
      this.host.refuse(
        connection,
        `handoff of ids this connection holds no reference to: ${describeIds(refused)}`,
        key,
      );
    }
    // What the receiver already sent on the spare can be acted on now.
    const held = spare.held;
    spare.held = undefined;
    if (held !== undefined && held.length) {
      spare.held = held;
      spare.waitingFor = undefined;
      this.host.replay(spare);
    }
    this.#settleWaiting(key);
  }

  /**
   * `claim`: moves a funded handoff's references to this connection, then closes the handoff.
   * `ids` are those of the proxies the claimer made from it: if the claim is refused, as many
   * of their releases are ignored (those proxies own nothing).
   */
  claim(claimer: ServerConnection, key: string, ids?: readonly number[]): void {
    const target = this.identities.byKey(key);
    if (target === claimer || (target !== undefined && !claimable(target))) {
      return this.#refuseClaim(
        claimer,
        'claim refused: the key names no unclaimed handoff',
        key,
        ids,
      );
    }
    if (target !== undefined && target.state === 'handoff') return this.#move(target, claimer, ids);
    if (this.#waiting.has(key)) {
      return this.#refuseClaim(claimer, 'claim refused: the handoff is claimed already', key, ids);
    }
    if (this.host.isSpent(key)) {
      return this.#refuseClaim(
        claimer,
        'claim refused: that handoff was taken up already, dropped, or its lease ended',
        key,
        ids,
      );
    }
    // Not registered or not funded yet: pause the claimer until it is.
    claimer.pause(key);
    const timer = setTimeout(() => {
      if (this.#waiting.get(key)?.claimer !== claimer) return;
      this.#waiting.delete(key);
      // The refusal goes before the replies to what the claimer sent after its claim.
      this.#refuseClaim(
        claimer,
        `claim refused: no handoff came within ${CLAIM_WAIT_MS} ms`,
        key,
        ids,
      );
      this.#resume(claimer);
    }, CLAIM_WAIT_MS);
    timer.unref();
    this.#waiting.set(key, { claimer, timer, ids });
  }

  #refuseClaim(
    claimer: ServerConnection,
    reason: string,
    key: string,
    ids: readonly number[] | undefined,
  ): void {
    if (ids !== undefined) claimer.owe(ids);
    this.host.refuse(claimer, reason, key);
  }

  /** A connection closed: forget its claims and spares; a claim waiting on it resumes. */
  closed(connection: ServerConnection): void {
    if (connection.madeBy !== undefined && this.#spares.get(connection.madeBy)?.has(connection)) {
      // An unfunded spare: remember whose it was.
      this.#closedUnfunded.set(connection.key, connection.madeBy);
      if (this.#closedUnfunded.size > MAX_CLOSED_UNFUNDED) {
        const oldest = this.#closedUnfunded.keys().next().value as string;
        this.#closedUnfunded.delete(oldest);
      }
    }
    if (connection.waitingFor !== undefined) {
      const waiting = this.#waiting.get(connection.waitingFor);
      if (waiting?.claimer === connection) {
        clearTimeout(waiting.timer);
        this.#waiting.delete(connection.waitingFor);
      }
    }
    const waiter = this.#waiting.get(connection.key);
    if (waiter !== undefined) {
      clearTimeout(waiter.timer);
      this.#waiting.delete(connection.key);
      this.#refuseClaim(
        waiter.claimer,
        'claim refused: the handoff was closed',
        connection.key,
        waiter.ids,
      );
      this.#resume(waiter.claimer);
    }
    const spares = this.#spares.get(connection);
    this.#spares.delete(connection);
    if (connection.madeBy !== undefined) this.#spares.get(connection.madeBy)?.delete(connection);
    // Unfunded spares of a closed connection will never be funded.
    if (spares !== undefined) for (const spare of spares) this.host.close(spare);
  }

  /** A portless handoff (an export) was registered under `key`: a claim may be waiting for it. */
  registered(key: string): void {
    this.#settleWaiting(key);
  }

  #settleWaiting(key: string): void {
    const waiting = this.#waiting.get(key);
    if (waiting === undefined) return;
    const target = this.identities.byKey(key);
    if (target === undefined || target.state === 'spare') return; // keep waiting
    clearTimeout(waiting.timer);
    this.#waiting.delete(key);
    if (claimable(target) && target.state === 'handoff')
      this.#move(target, waiting.claimer, waiting.ids);
    else
      this.#refuseClaim(waiting.claimer, 'claim refused: the handoff was taken', key, waiting.ids);
    this.#resume(waiting.claimer);
  }

  /**
   * Moves a handoff's references to its claimer. `ids` are those of the proxies the claimer
   * made from it: those the handoff holds no reference for (its sender did not hold them: a
   * proxy sent on after its own claim was refused) own nothing, so the claimer owes their
   * releases. Counted against the claimer's own list, so a sender cannot make another
   * connection owe anything.
   */
  #move(target: ServerConnection, claimer: ServerConnection, ids?: readonly number[]): void {
    oweUnfunded(this.table, target.holder, claimer, ids);
    this.table.adopt(target.holder, claimer.holder, 'handoff claimed');
    this.taken(target, claimer);
    this.host.close(target);
  }

  /**
   * `handoff` was taken up by `receiver` (a claim, or the `hello` of a spare's receiver): a
   * sender that asked is told the receiver's serial, unless it expected that one (or took the
   * handoff back itself).
   */
  taken(handoff: ServerConnection, receiver: ServerConnection): void {
    handoff.takenUp = true;
    // A spare's adopter made proxies for the ids its sender could not fund. (A claimer's are
    // counted against its own list, in #move.)
    if (handoff === receiver && handoff.unfunded !== undefined) receiver.owe(handoff.unfunded);
    handoff.unfunded = undefined;
    const notify = handoff.notify;
    if (notify === undefined) return;
    handoff.notify = undefined;
    if (notify.sender === receiver || notify.expected === receiver.serial) return;
    this.host.tell(notify.sender, { t: 'receiver', tag: notify.tag, serial: receiver.serial });
  }

  #resume(claimer: ServerConnection): void {
    if (claimer.resume()) this.host.replay(claimer);
  }
}

/** A handoff connection that no thread has taken up yet (no hello, no claim). */
function claimable(connection: ServerConnection): boolean {
  return (
    !connection.closed &&
    !connection.greeted &&
    !connection.owner &&
    connection.madeBy !== undefined &&
    (connection.state === 'spare' || connection.state === 'handoff')
  );
}
