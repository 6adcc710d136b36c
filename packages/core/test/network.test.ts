/**
 * Managers across processes (issue: network): a manager listening on TCP, a Unix socket or
 * TLS, used by real child processes. Each test ends with the object table empty.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { BaseManager, type NetworkAddress } from '@managers/core';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { KitchenManager } from './fixtures/kitchen';
import { KITCHEN_MODULE, pollUntil, sleep } from './helpers';
import { authkeyBytes } from '../src/transport/auth';
import { decodePayload, encodeFrame } from '../src/transport/codec';
import { dial } from '../src/transport/dial';
import { FrameReader } from '../src/transport/frames';

const AUTHKEY = 'network-test-secret-7f3a';
const CHILD = require.resolve('./fixtures/remote-child');
const CHILD_EXEC_ARGV = ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')];
const LOOPBACK = { host: '127.0.0.1', port: 0 };

jest.setTimeout(60_000);
installRefcountMatchers();

/** A client process (fixtures/remote-child.ts) that runs scenarios on request. */
class Child {
  readonly events: Record<string, unknown>[] = [];
  #nextId = 1;
  readonly #waiting = new Map<
    number,
    { resolve: (value: any) => void; reject: (error: Error) => void }
  >();
  readonly exited: Promise<NodeJS.Signals | number | null>;

  private constructor(readonly process: ChildProcess) {
    this.exited = new Promise((resolve) =>
      process.once('exit', (code, signal) => resolve(signal ?? code)),
    );
    process.on('message', (message: { id?: number; result?: unknown; error?: unknown }) => {
      if (message.id === undefined) {
        if ((message as { ready?: boolean }).ready) return;
        this.events.push(message as Record<string, unknown>);
        return;
      }
      const waiting = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      if (message.error !== undefined) waiting?.resolve({ error: message.error });
      else waiting?.resolve(message.result);
    });
    process.once('exit', () => {
      for (const { reject } of this.#waiting.values()) reject(new Error('the child exited'));
    });
  }

  static async start(): Promise<Child> {
    const process = fork(CHILD, [], {
      execArgv: CHILD_EXEC_ARGV,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new Child(process);
    await new Promise<void>((resolve, reject) => {
      process.once('message', () => resolve());
      process.once('exit', (code) =>
        reject(new Error(`the child exited with ${code} before it was ready`)),
      );
    });
    return child;
  }

  /** Runs a scenario; resolves with its result, or `{ error }` describing what it threw. */
  run(scenario: string, options: Record<string, unknown> = {}): Promise<any> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.process.send({ id, scenario, ...options });
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** An authenticated socket speaking raw frames, for hostile-client tests. */
async function rawClient(address: NetworkAddress, authkey = AUTHKEY) {
  const { socket, rest } = await dial({
    address,
    authkey: authkeyBytes(authkey),
    timeout: 5000,
    maxFrameBytes: 1 << 20,
  });
  const messages: unknown[] = [];
  const reader = new FrameReader(1 << 20, (payload) => {
    if (payload.length > 0) messages.push(decodePayload(payload));
  });
  reader.push(rest);
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket: socket as Socket,
    messages,
    closed,
    send: (value: unknown) => socket.write(encodeFrame(value)),
    reply: async (rid: number) => {
      const found = () => messages.find((m) => (m as { rid?: number }).rid === rid);
      const deadline = Date.now() + 5000;
      while (found() === undefined && Date.now() < deadline) await sleep(5);
      return found() as { rid: number; p?: { id: number }; e?: unknown } | undefined;
    },
    [Symbol.dispose]: () => socket.destroy(),
  };
}

function startListening(address: NetworkAddress = LOOPBACK, extra: Record<string, unknown> = {}) {
  return KitchenManager.start({ module: KITCHEN_MODULE, address, authkey: AUTHKEY, ...extra });
}

describe('a manager other processes connect to', () => {
  test('over TCP: create, call, values v8 carries, errors with remote stacks, proxies returned by methods', async () => {
    await using manager = await startListening();
    const address = manager.address as { host: string; port: number };
    expect(address.host).toBe('127.0.0.1');
    expect(address.port).toBeGreaterThan(0);
    await using child = await Child.start();
    const connected = await child.run('connect', { address, authkey: AUTHKEY });
    expect(connected).toEqual({ connected: true, address, isOwner: false });
    const result = await child.run('basic');
    expect(result.counts).toEqual([1, 2]);
    expect(result.echoed).toEqual({
      isMap: true,
      big: String(2n ** 70n),
      when: 0,
      hasNothing: true,
      nan: true,
    });
    expect(result.failure).toMatchObject({
      name: 'CustomError',
      code: 'E_CUSTOM',
      message: 'outer failure',
      cause: 'middle',
    });
    expect(result.failure.remoteStack).toContain('failWithCause');
    expect(result.viaReturned).toBe(3);
    expect(result.madeValue).toEqual({ made: 1 });
    // The child released everything it made (`using`): the table is empty with it alive.
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('over a Unix domain socket', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'managers-'));
    try {
      const path = join(directory, 'manager.sock');
      await using manager = await startListening({ path });
      expect(manager.address).toEqual({ path });
      await using child = await Child.start();
      expect((await child.run('connect', { address: { path }, authkey: AUTHKEY })).connected).toBe(
        true,
      );
      expect((await child.run('basic')).counts).toEqual([1, 2]);
      expect((await child.run('hold', { count: 2 })).held).toBe(2);
      expect(await manager.numberOfObjects()).toBe(2);
      await child.run('release-all');
      expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
      await expect(manager).toHaveNoLiveObjects();
      expect(existsSync(path)).toBe(true);
      await manager.shutdown();
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('a wrong authkey is refused with ERR_AUTHENTICATION; the server keeps serving and traces no secret', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    const refused = await child.run('connect', {
      address: manager.address,
      authkey: 'not-the-key',
    });
    expect(refused.error).toMatchObject({ name: 'ManagerError', code: 'ERR_AUTHENTICATION' });
    expect(refused.error.message).toMatch(/refused the authkey/);
    const accepted = await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    expect(accepted.connected).toBe(true);
    expect((await child.run('basic')).counts).toEqual([1, 2]);
    const trace = JSON.stringify(await manager.trace());
    expect(trace).toContain('socket refused');
    expect(trace).not.toContain(AUTHKEY);
    expect(trace).not.toContain('not-the-key');
    await expect(manager).toHaveNoLiveObjects();
  });

  test('a SIGKILLed client has its references released within 2 s', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    expect((await child.run('hold', { count: 3 })).held).toBe(3);
    expect(await manager.numberOfObjects()).toBe(3);
    const killedAt = Date.now();
    child.process.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    expect(await pollUntil(() => manager.numberOfObjects(), 0, 2000)).toBe(0);
    expect(Date.now() - killedAt).toBeLessThan(2000);
    const trace = await manager.trace();
    expect(
      trace.some(
        (event) =>
          event.op === 'release-holder' && /connection closed: main\.pid-/.test(event.cause ?? ''),
      ),
    ).toBe(true);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('a client that stops answering heartbeats is released after heartbeatTimeout', async () => {
    await using manager = await startListening(LOOPBACK, { heartbeatTimeout: 400 });
    using raw = await rawClient(manager.address!);
    raw.socket.pause(); // reads nothing, answers nothing: a frozen or partitioned process
    raw.send({ t: 'hello', label: 'frozen' });
    raw.send({ t: 'create', rid: 1, typeid: 'Toolbox', args: [] });
    expect(await pollUntil(() => manager.numberOfObjects(), 1)).toBe(1);
    const silentFrom = Date.now();
    expect(await pollUntil(() => manager.numberOfObjects(), 0, 3000)).toBe(0);
    const after = Date.now() - silentFrom;
    expect(after).toBeGreaterThan(200);
    expect(after).toBeLessThan(1500);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('a server thread blocked longer than heartbeatTimeout does not drop clients whose heartbeats arrived', async () => {
    await using manager = await startListening(LOOPBACK, { heartbeatTimeout: 400 });
    using raw = await rawClient(manager.address!);
    raw.send({ t: 'hello', label: 'beating' });
    raw.send({ t: 'create', rid: 1, typeid: 'Toolbox', args: [] });
    expect((await raw.reply(1))?.p).toBeDefined();
    const beating = setInterval(() => raw.socket.write(Buffer.alloc(4)), 100);
    try {
      const box = await manager.Toolbox();
      expect(await box.block(1200)).toBe(1200); // three timeouts' worth, on the server thread
      await sleep(300);
      expect(raw.socket.destroyed).toBe(false);
      expect(await manager.numberOfObjects()).toBe(2); // the raw client's object is still held
      box[Symbol.dispose]();
    } finally {
      clearInterval(beating);
    }
    raw[Symbol.dispose]();
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('garbage, oversized and undecodable frames close that socket only; good clients are served', async () => {
    await using manager = await startListening(LOOPBACK, { maxMessageSize: 4096 });
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    expect((await child.run('hold', { count: 1 })).held).toBe(1);

    // Unauthenticated garbage: the handshake fails, the socket closes, nothing is decoded.
    const net = await import('node:net');
    const { port } = manager.address as { port: number };
    const garbage = net.connect(port, '127.0.0.1');
    const garbageClosed = new Promise((resolve) => garbage.once('close', resolve));
    garbage.on('error', () => undefined);
    garbage.on('data', () => undefined);
    garbage.write(Buffer.alloc(200, 0x41));
    await garbageClosed;

    // Authenticated, then a frame announcing more than the limit.
    const oversized = await rawClient(manager.address!);
    oversized.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    await oversized.closed;

    // Authenticated, then a frame whose payload decodes to nothing.
    const undecodable = await rawClient(manager.address!);
    undecodable.socket.write(Buffer.from([0, 0, 0, 3, 0x56, 0xff, 0x00]));
    await undecodable.closed;

    // Authenticated, then a tiny frame holding a sparse array of length 2^32-1 (a loop over
    // it would freeze the server): refused at decoding, this socket closes.
    const sparse = await rawClient(manager.address!);
    const huge: unknown[] = [];
    huge.length = 2 ** 32 - 1;
    sparse.socket.write(encodeFrame({ t: 'batch', m: huge }));
    await sparse.closed;
    const started = Date.now();
    expect(await manager.numberOfObjects()).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);

    // Authenticated, then well-framed but bad protocol: an error reply, the socket stays.
    using confused = await rawClient(manager.address!);
    confused.send({ t: 'call', rid: 7, id: 'not-an-id', method: 5 });
    const reply = await confused.reply(7);
    expect(reply?.e).toMatchObject({ code: 'ERR_BAD_MESSAGE' });

    expect((await child.run('basic')).counts).toEqual([1, 2]);
    // The child's `using` releases go out on its socket while its answer comes back over IPC,
    // so the answer can arrive first: wait for the releases to be served.
    expect(await pollUntil(() => manager.numberOfObjects(), 1)).toBe(1);
    await child.run('release-all');
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('a flood of idle unauthenticated sockets cannot lock out a client that answers', async () => {
    await using manager = await startListening();
    const net = await import('node:net');
    const { port } = manager.address as { port: number };
    const idle = Array.from({ length: 200 }, () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      return socket;
    });
    try {
      await sleep(300);
      // At most 128 wait in their handshakes: the oldest were closed as newer ones came.
      expect(
        idle.filter((socket) => socket.destroyed || socket.readableEnded).length,
      ).toBeGreaterThanOrEqual(72);
      await using child = await Child.start();
      expect(
        (await child.run('connect', { address: manager.address, authkey: AUTHKEY })).connected,
      ).toBe(true);
      expect((await child.run('basic')).counts).toEqual([1, 2]);
    } finally {
      for (const socket of idle) socket.destroy();
    }
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('a client that asks without reading is not served further until it reads (backpressure)', async () => {
    await using manager = await startListening();
    const box = await manager.Toolbox();
    const { exportProxy } = await import('@managers/core');
    const exported = await exportProxy(box);
    using raw = await rawClient(manager.address!);
    raw.socket.pause(); // reads nothing
    raw.send({ t: 'hello', label: 'greedy' });
    raw.send({ t: 'claim', key: exported.key });
    const calls = 40_000;
    const payload = 'x'.repeat(1000);
    for (let rid = 1; rid <= calls; rid++)
      raw.send({ t: 'call', rid, id: box.token.id, method: 'tally', args: [payload] });
    await sleep(1000);
    // About 8 MiB of replies are owed (some 8,000): the server stopped reading the rest.
    const served = await box.count();
    expect(served).toBeGreaterThan(1000);
    expect(served).toBeLessThan(calls / 2);
    raw.socket.resume(); // it reads: the rest is served
    expect(await pollUntil(() => box.count(), calls, 20_000)).toBe(calls);
    box[Symbol.dispose]();
    raw[Symbol.dispose]();
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('hostile sockets (random frames, random protocol messages) never stop the server or leak', async () => {
    await using manager = await startListening(LOOPBACK, { maxMessageSize: 1 << 16 });
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const types = [
      'hello',
      'create',
      'call',
      'release',
      'spare',
      'handoff',
      'claim',
      'ack',
      'lend',
      'unlend',
      'borrow',
      'unborrow',
      'keep',
      'sync',
      'batch',
      'welcome',
      'closing',
      'nope',
    ];
    const message = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          t: fc.constantFrom(...types),
          rid: fc.oneof(fc.nat(50), fc.integer(), fc.string()),
          id: fc.oneof(fc.nat(20), fc.constant(0), fc.double()),
          ids: fc.array(fc.oneof(fc.nat(20), fc.string()), { maxLength: 4 }),
          key: fc.oneof(fc.string(), fc.base64String({ minLength: 22, maxLength: 24 })),
          typeid: fc.constantFrom('Toolbox', 'Holder', 'Nope', '__proto__'),
          method: fc.constantFrom(
            'inc',
            'echo',
            '#export',
            '#getvalue',
            '#count',
            '#debug',
            'constructor',
            '__proto__',
          ),
          args: fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
          label: fc.string(),
        },
        { requiredKeys: ['t'] },
      ),
    );
    const sockets = await Promise.all([1, 2, 3, 4].map(() => rawClient(manager.address!)));
    let sent = 0;
    for (const [index, raw] of sockets.entries()) {
      if (index === 3) {
        // Random bytes as frames: the first that does not decode closes this socket.
        for (const bytes of fc.sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), 50)) {
          const frame = Buffer.alloc(4 + bytes.length);
          frame.writeUInt32BE(bytes.length, 0);
          frame.set(bytes, 4);
          raw.socket.write(frame);
        }
        await raw.closed;
        continue;
      }
      raw.send({ t: 'hello', label: `hostile-${index}` });
      for (const value of fc.sample(message, { numRuns: 400, seed: 1234 + index })) {
        try {
          raw.send(value);
          sent++;
        } catch {
          // not serializable (a symbol in fc.anything): nothing was sent
        }
        // Valid creates in between, so that the hostile sockets hold objects when they close.
        if (sent % 40 === 0)
          raw.send({ t: 'create', rid: 100_000 + sent, typeid: 'Toolbox', args: [] });
      }
    }
    expect(sent).toBeGreaterThan(1000);
    // The server still serves an honest process, correctly.
    expect((await child.run('basic')).counts).toEqual([1, 2]);
    // Bad protocol messages get error replies, not a closed socket: the hostile sockets hold
    // the objects they created until they go.
    expect(sockets.slice(0, 3).every((raw) => !raw.socket.destroyed)).toBe(true);
    expect(await manager.numberOfObjects()).toBeGreaterThan(0);
    for (const raw of sockets) raw[Symbol.dispose]();
    await Promise.all(sockets.map((raw) => raw.closed));
    expect(await pollUntil(() => manager.numberOfObjects(), 0, 5000)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('shutdown reaches every remote client promptly, with the reason', async () => {
    const manager = await startListening();
    await using first = await Child.start();
    await using second = await Child.start();
    for (const child of [first, second]) {
      await child.run('connect', { address: manager.address, authkey: AUTHKEY });
      expect((await child.run('gate')).waiting).toBe(true);
    }
    expect(await manager.numberOfObjects()).toBe(2);
    await manager.shutdown();
    for (const child of [first, second]) {
      await pollUntil(async () => child.events.length, 1, 2000);
      expect(child.events[0]).toMatchObject({
        gate: 'rejected',
        error: { code: 'ERR_MANAGER_CLOSED' },
      });
      expect((child.events[0] as { error: { message: string } }).error.message).toMatch(
        /shut down/,
      );
    }
    expect(manager.closed).toBe(true);
  });

  test('a remote proxy and handle sent on to a worker thread of the client process work there', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const report = await child.run('thread');
    // The thread's call saw the parent's increment; its own object was counted beside the box.
    expect(report).toEqual({ counted: 2, made: 1, objects: 2 });
    const holders = (await manager.trace()).map((event) => event.holder);
    expect(holders.some((holder) => /^thread-\d+\.pid-\d+$/.test(holder))).toBe(true);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('connect() with a class the server does not serve is refused without closing the thread’s connection', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const result = await child.run('wrong-class', { address: manager.address, authkey: AUTHKEY });
    expect(result.refused).toMatchObject({ code: 'ERR_UNKNOWN_TYPEID' });
    expect(result.refused.message).toMatch(/does not serve 'Magnifier'/);
    expect(result.stillWorks).toBe(1);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('await using / disconnect(): the socket closes when the thread’s last remote manager lets go, releasing its references', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const result = await child.run('scoped', { address: manager.address, authkey: AUTHKEY });
    expect(result.afterScope).toBe(1); // the scoped manager's Toolbox lives on: the socket is shared
    expect(result.afterDisconnect).toMatchObject({ code: 'ERR_MANAGER_CLOSED' });
    expect(result.afterDisconnect.message).toMatch(/disconnected/);
    expect(result.closed).toBe(true);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('connect() to the manager this thread started shares the owner’s connection, and disconnect() leaves it open', async () => {
    await using manager = await startListening();
    const own = await manager.Toolbox();
    const remote = await KitchenManager.connect({ address: manager.address!, authkey: AUTHKEY });
    const made = await remote.Toolbox();
    expect(await made.echo('remote')).toBe('remote');
    await remote.disconnect();
    // The owner's manager and proxies go on; so do the ones made through the shared connection.
    expect(manager.closed).toBe(false);
    expect(await own.echo('owner')).toBe('owner');
    expect(await made.echo('still')).toBe('still');
    made[Symbol.dispose]();
    own[Symbol.dispose]();
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('a client sends within the server’s maxMessageSize: a larger call is refused there, the connection goes on', async () => {
    await using manager = await startListening(LOOPBACK, { maxMessageSize: 10_000 });
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const result = await child.run('big', { size: 100_000 }); // over the server's frame limit too
    expect(result.refused).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE' });
    expect(result.stillWorks).toBe(1);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('what needs a MessagePort (syncProxy) fails with ERR_NOT_SUPPORTED over a socket', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const result = await child.run('unsupported');
    expect(result.errors).toHaveLength(1);
    for (const error of result.errors) {
      expect(error).toMatchObject({ code: 'ERR_NOT_SUPPORTED' });
      expect(error.message).toMatch(/exportProxy\(\)/);
    }
    expect(result.stillWorks).toBe(1);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });
});

describe('proxies between processes: exportProxy / importProxy', () => {
  test('a proxy exported by one process is imported by another, which may have no connection yet', async () => {
    await using manager = await startListening();
    await using exporter = await Child.start();
    await using importer = await Child.start();
    await exporter.run('connect', { address: manager.address, authkey: AUTHKEY });
    const { exported } = await exporter.run('export');
    // The exporter released its own proxy: the export's reference keeps the object.
    expect(await manager.numberOfObjects()).toBe(1);
    expect(exported.address).toEqual(manager.address);
    const imported = await importer.run('import-fresh', { exported, authkey: AUTHKEY });
    expect(imported.count).toBe(6);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);

    // Imported in the owner's own thread too (it has a connection: no authkey needed).
    const again = await exporter.run('export');
    const { importProxy, release } = await import('@managers/core');
    const box = await importProxy<{ count(): Promise<number> }>(again.exported);
    expect(await box.count()).toBe(5);
    release(box);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('importProxy() with a wrong authkey is refused even when this thread is connected already', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const { exported } = await child.run('export');
    const wrong = await child.run('import', { exported, authkey: 'not-the-key' });
    expect(wrong.error).toMatchObject({ code: 'ERR_AUTHENTICATION' });
    expect(wrong.error.message).toMatch(/options\.authkey is not the key of manager/);
    // Refused before the claim: the export is still there for the right key.
    expect((await child.run('import', { exported, authkey: AUTHKEY })).count).toBe(5);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });

  test('an export imports once, and one not imported within its lease is released', async () => {
    await using manager = await startListening();
    await using child = await Child.start();
    await child.run('connect', { address: manager.address, authkey: AUTHKEY });
    const { exported } = await child.run('export');
    expect((await child.run('import', { exported, authkey: AUTHKEY })).count).toBe(5);
    const twice = await child.run('import', { exported, authkey: AUTHKEY });
    expect(twice.error).toMatchObject({ code: 'ERR_UNKNOWN_ID' });
    expect(twice.error.message).toMatch(/cannot be imported/);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);

    const leased = await child.run('export', { lease: 300 });
    expect(await manager.numberOfObjects()).toBe(1);
    expect(await pollUntil(() => manager.numberOfObjects(), 0, 3000)).toBe(0);
    const late = await child.run('import', { exported: leased.exported, authkey: AUTHKEY });
    expect(late.error).toMatchObject({ code: 'ERR_UNKNOWN_ID' });
    const trace = JSON.stringify(await manager.trace());
    expect(trace).toContain('export lease of 300 ms ended unclaimed');
    await expect(manager).toHaveNoLiveObjects();
  });
});

describe('TLS', () => {
  const directory = mkdtempSync(join(tmpdir(), 'managers-tls-'));
  const keyFile = join(directory, 'key.pem');
  const certFile = join(directory, 'cert.pem');
  beforeAll(() => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  test('a TLS manager serves a client that trusts its certificate, and refuses one that does not', async () => {
    const key = readFileSync(keyFile, 'utf8');
    const cert = readFileSync(certFile, 'utf8');
    await using manager = await startListening(LOOPBACK, { tls: { key, cert } });
    await using child = await Child.start();
    const untrusting = await child.run('connect', {
      address: manager.address,
      authkey: AUTHKEY,
      tls: true,
    });
    expect(untrusting.error).toMatchObject({ code: 'ERR_MANAGER_CLOSED' });
    expect(untrusting.error.message).toMatch(/certificate/);
    const trusting = await child.run('connect', {
      address: manager.address,
      authkey: AUTHKEY,
      tls: { ca: cert },
    });
    expect(trusting.connected).toBe(true);
    expect((await child.run('basic')).counts).toEqual([1, 2]);
    expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
    await expect(manager).toHaveNoLiveObjects();
  });
});

describe('options', () => {
  test('listening options are validated, naming the option', async () => {
    const start = (options: Record<string, unknown>) =>
      KitchenManager.start({ module: KITCHEN_MODULE, ...options } as never);
    await expect(start({ address: LOOPBACK })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringMatching(/options\.authkey is required with options\.address/),
    });
    await expect(start({ address: { host: '127.0.0.1' }, authkey: 'k' })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringMatching(/options\.address is invalid: must have an integer port/),
    });
    await expect(start({ address: LOOPBACK, authkey: '' })).rejects.toMatchObject({
      message: expect.stringMatching(/options\.authkey is invalid: must not be empty/),
    });
    await expect(start({ authkey: 'k' })).rejects.toMatchObject({
      message: expect.stringMatching(/options\.authkey is only used with options\.address/),
    });
    await expect(
      start({ address: LOOPBACK, authkey: 'k', tls: { cert: 'x' } }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(
        /options\.tls is invalid: must be an object with the server key and cert/,
      ),
    });
    await expect(BaseManager.connect({ address: LOOPBACK } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringMatching(/options\.authkey is required/),
    });
  });

  test('an address in use fails start() with ERR_START_FAILED naming the address', async () => {
    await using first = await startListening();
    await expect(startListening(first.address)).rejects.toMatchObject({
      code: 'ERR_START_FAILED',
      message: expect.stringMatching(
        /options\.address: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      ),
    });
    await expect(first).toHaveNoLiveObjects();
  });

  test('a Unix socket file left by a dead process is reused; a live one or a regular file is not', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'managers-'));
    try {
      const path = join(directory, 'stale.sock');
      // A socket file nobody serves: a process listened on it and was SIGKILLed.
      const { spawn } = await import('node:child_process');
      const { closeSync, openSync } = await import('node:fs');
      const squatter = spawn(process.execPath, [
        '-e',
        `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
      ]);
      await new Promise((resolve) => squatter.stdout.once('data', resolve));
      squatter.kill('SIGKILL');
      await new Promise((resolve) => squatter.once('exit', resolve));
      expect(existsSync(path)).toBe(true);
      await using manager = await startListening({ path });
      expect(manager.address).toEqual({ path });
      await expect(startListening({ path })).rejects.toMatchObject({
        code: 'ERR_START_FAILED',
        message: expect.stringMatching(/EADDRINUSE/),
      });
      const file = join(directory, 'not-a-socket');
      closeSync(openSync(file, 'w'));
      await expect(startListening({ path: file })).rejects.toMatchObject({
        code: 'ERR_START_FAILED',
      });
      expect(readFileSync(file, 'utf8')).toBe('');
      await expect(manager).toHaveNoLiveObjects();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('a remote proxy whose manager cannot be reached: its calls reject with why, nothing hangs', async () => {
    // A thread that received a remote manager's proxy connects with the sender's settings; here
    // nothing listens there any more.
    const net = await import('node:net');
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const { decode, isManagerError } = await import('@managers/core');
    const proxy = decode<{ inc(): Promise<number> }>({
      '@managers/proxy': 1,
      token: {
        manager: 'unreachable-manager',
        id: 1,
        typeid: 'Toolbox',
        exposed: ['inc'],
        methodToTypeid: {},
      },
      key: 'AAAAAAAAAAAAAAAAAAAAAA',
      remote: { address: { host: '127.0.0.1', port }, authkey: AUTHKEY, maxMessageSize: 1 << 20 },
    });
    const error = await proxy.inc().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(isManagerError(error, 'ERR_MANAGER_CLOSED')).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`));
  });

  test('nothing listening: connect() rejects with ERR_MANAGER_CLOSED naming the address', async () => {
    await using manager = await startListening();
    const { port } = manager.address as { port: number };
    await manager.shutdown();
    await expect(
      KitchenManager.connect({ address: { host: '127.0.0.1', port }, authkey: AUTHKEY }),
    ).rejects.toMatchObject({
      code: 'ERR_MANAGER_CLOSED',
      message: expect.stringMatching(
        new RegExp(`cannot connect to the manager at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
      ),
    });
  });
});
