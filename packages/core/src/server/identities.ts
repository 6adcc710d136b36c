import { SERVER_HOLDER, type ObjectTable } from '@managers/refcount';
import type { Channel } from '../transport/channel';
import { ServerConnection, type ConnectionState } from './connection';

/** Labels a client may give itself: shown in holders, never an identity. */
const LABEL = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The server's connections and their identities. A connection's holder name is chosen here,
 * never by the client: a `hello` only proposes a display label, which is made unique among
 * live connections, cannot name the server or a handoff, and can be given once.
 */
export class Identities {
  /** Connections by their secret key. */
  readonly #byKey = new Map<string, ServerConnection>();
  /** Live connections by their public serial. */
  readonly #bySerial = new Map<number, ServerConnection>();
  /** Holder names of live connections. */
  readonly #names = new Set<string>();
  #serial = 0;

  constructor(
    private readonly table: ObjectTable,
    private readonly undoIncrefs: (connection: ServerConnection, ids: readonly number[]) => void,
  ) {}

  /** The live connection registered under `key`. */
  byKey(key: string): ServerConnection | undefined {
    return this.#byKey.get(key);
  }

  /** The live connection whose serial is `serial`. */
  bySerial(serial: number): ServerConnection | undefined {
    return this.#bySerial.get(serial);
  }

  /** How many connections are live. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Every live connection. */
  all(): ServerConnection[] {
    return [...this.#byKey.values()];
  }

  /**
   * Registers a connection. Before its `hello` its holder is a handoff holder: the one of the
   * connection that made it (`handoff:main>7`), or `connection-N` for the owner's first one.
   */
  add(
    port: Channel,
    key: string,
    options: { owner: boolean; state: ConnectionState; madeBy?: ServerConnection },
  ): ServerConnection {
    const serial = ++this.#serial;
    const holder = options.madeBy
      ? `handoff:${options.madeBy.holder}>${serial}`
      : `connection-${serial}`;
    const connection = new ServerConnection(
      serial,
      key,
      holder,
      port,
      options.owner,
      options.state,
      this.undoIncrefs,
    );
    connection.madeBy = options.madeBy;
    this.#byKey.set(key, connection);
    this.#bySerial.set(serial, connection);
    this.#names.add(holder);
    return connection;
  }

  /**
   * A fresh handoff holder name for references `madeBy` hands off that are taken up at once, with
   * no connection behind them (a directed handoff read while its claim is acted on).
   */
  handoffHolder(madeBy: ServerConnection): string {
    return `handoff:${madeBy.holder}>${++this.#serial}`;
  }

  /** Names a connection after the label it proposes (once). Returns false if it already did. */
  hello(connection: ServerConnection, label: string): boolean {
    if (connection.greeted) return false;
    connection.greeted = true;
    const base = LABEL.test(label) && label !== SERVER_HOLDER ? label : 'connection';
    let name = base;
    for (let n = 2; this.#names.has(name); n++) name = `${base}#${n}`;
    connection.label = base;
    if (connection.state === 'handoff') connection.state = 'open';
    this.#names.delete(connection.holder);
    this.#names.add(name);
    this.table.adopt(connection.holder, name, `connection of ${name}`);
    connection.holder = name;
    return true;
  }

  /** Forgets a closed connection (its references are released by the caller). */
  remove(connection: ServerConnection): void {
    if (this.#byKey.get(connection.key) === connection) this.#byKey.delete(connection.key);
    this.#bySerial.delete(connection.serial);
    this.#names.delete(connection.holder);
  }
}
