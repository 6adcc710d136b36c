/**
 * The client process of workload 10 (cross-process, over sockets): forked by the bench, it
 * connects to the bench's managers listening on a Unix domain socket and on TCP loopback, and
 * to the bare echo servers beside them, then runs the rounds it is told over the IPC channel
 * of `fork`, timing each itself (so the IPC trip is not counted).
 *
 * Messages (each gets one reply, `{ id, ns }` for a round, `{ id, error }` on failure):
 * - `{ t: 'setup', managers: { unix, tcp }, raw: { unix, tcp }, authkey }`: connects;
 * - `{ t: 'run', variant: 'ours' | 'raw', transport: 'unix' | 'tcp', metric, ops, window }`
 *   with metric `latency` (one outstanding), `throughput` (`window` outstanding) or `create`
 *   (create + release; ours only);
 * - `{ t: 'teardown' }`: releases every proxy, closes the sockets and exits.
 */
import { connect, type Socket } from 'node:net';
import type { NetworkAddress } from '@managers/core';
import { pipelined } from '../measure';
import { BenchManager } from '../registry';

type Transport = 'unix' | 'tcp';
type Metric = 'latency' | 'throughput' | 'create';
type Message =
  | {
      t: 'setup';
      managers: Record<Transport, NetworkAddress>;
      raw: Record<Transport, NetworkAddress>;
      authkey: string;
    }
  | {
      t: 'run';
      variant: 'ours' | 'raw';
      transport: Transport;
      metric: Metric;
      ops: number;
      window: number;
    }
  | { t: 'teardown' };

type RemoteManager = Awaited<ReturnType<typeof BenchManager.connect>>;
type EchoProxy = Awaited<ReturnType<RemoteManager['Echo']>>;

/** Bytes of one raw message: a 4-byte length header and a 4-byte payload, as a small frame. */
const RAW_MESSAGE_BYTES = 8;

/**
 * The floor: fixed-size messages echoed by a bare `net` server, one outstanding or a window
 * of them, one `write()` per message, counted with plain integers (no parsing, no ids).
 */
class RawSocketClient {
  readonly #socket: Socket;
  readonly #message = Buffer.alloc(RAW_MESSAGE_BYTES);
  #bytes = 0;
  #round: { sent: number; received: number; total: number; done: () => void } | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#message.writeUInt32BE(RAW_MESSAGE_BYTES - 4, 0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  static open(address: NetworkAddress): Promise<RawSocketClient> {
    return new Promise((resolve, reject) => {
      const socket =
        'path' in address
          ? connect({ path: address.path })
          : connect({ host: address.host, port: address.port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawSocketClient(socket));
      });
    });
  }

  #onData(chunk: Buffer): void {
    const round = this.#round;
    if (round === undefined) return;
    this.#bytes += chunk.length;
    while (this.#bytes >= RAW_MESSAGE_BYTES) {
      this.#bytes -= RAW_MESSAGE_BYTES;
      round.received++;
      if (round.sent < round.total) {
        round.sent++;
        this.#socket.write(this.#message);
      } else if (round.received === round.total) {
        this.#round = undefined;
        round.done();
        return;
      }
    }
  }

  /** `total` round trips with `window` outstanding (1: one at a time). */
  run(total: number, window: number): Promise<void> {
    return new Promise((done) => {
      const round = { sent: 0, received: 0, total, done };
      this.#round = round;
      const first = Math.min(window, total);
      for (let i = 0; i < first; i++) {
        round.sent++;
        this.#socket.write(this.#message);
      }
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

interface Peer {
  readonly manager: RemoteManager;
  readonly echo: EchoProxy;
  readonly raw: RawSocketClient;
}

const peers = new Map<Transport, Peer>();

async function setup(message: Extract<Message, { t: 'setup' }>): Promise<void> {
  for (const transport of ['unix', 'tcp'] as const) {
    const manager = await BenchManager.connect({
      address: message.managers[transport],
      authkey: message.authkey,
    });
    const echo = await manager.Echo();
    const raw = await RawSocketClient.open(message.raw[transport]);
    peers.set(transport, { manager, echo, raw });
  }
}

async function ours(peer: Peer, metric: Metric, ops: number, window: number): Promise<void> {
  const { manager, echo } = peer;
  switch (metric) {
    case 'latency':
      for (let i = 0; i < ops; i++) await echo.ping(i);
      return;
    case 'throughput':
      return pipelined(ops, window, () => echo.ping());
    case 'create':
      for (let i = 0; i < ops; i++) {
        const counter = await manager.Counter();
        counter[Symbol.dispose]();
      }
      // The last release travels before this call on the same socket: when its reply is
      // back, the server has processed every release of the round.
      await echo.ping();
      return;
  }
}

async function run(message: Extract<Message, { t: 'run' }>): Promise<number> {
  const peer = peers.get(message.transport);
  if (peer === undefined) throw new Error(`not set up for ${message.transport}`);
  const start = process.hrtime.bigint();
  if (message.variant === 'ours') await ours(peer, message.metric, message.ops, message.window);
  else if (message.metric === 'create') throw new Error('the raw client has no create');
  else await peer.raw.run(message.ops, message.metric === 'latency' ? 1 : message.window);
  return Number(process.hrtime.bigint() - start);
}

function teardown(): void {
  for (const peer of peers.values()) {
    peer.echo[Symbol.dispose]();
    peer.raw.close();
  }
}

async function handle(message: Message): Promise<unknown> {
  switch (message.t) {
    case 'setup':
      await setup(message);
      return {};
    case 'run':
      return { ns: await run(message) };
    case 'teardown':
      teardown();
      return {};
  }
}

process.on('message', (message: Message & { id: number }) => {
  handle(message).then(
    (reply) =>
      process.send!({ id: message.id, ...(reply as object) }, undefined, undefined, () => {
        // The releases were written before this reply; closing the sockets by exiting is
        // what a client process does, and the servers release what its connections held.
        if (message.t === 'teardown') setImmediate(() => process.exit(0));
      }),
    (error: unknown) =>
      process.send!({ id: message.id, error: String((error as Error)?.stack ?? error) }),
  );
});
process.send!({ ready: true });
