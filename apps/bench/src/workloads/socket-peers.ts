/**
 * The processes and servers of workload 10: the forked Node client process
 * (workers/net-client.ts), the Python driver (python/mp_socket_bench.py) and the bare echo
 * servers that give the floor. Each peer answers one command at a time.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { NetworkAddress } from '@managers/core';

/** A round, or a set-up (Python connecting 64 threads over TCP), that takes longer is stuck. */
const REQUEST_TIMEOUT_MS = 120_000;

/** Rejects a pending command when its peer dies; resolves it with the peer's reply. */
interface Pending {
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** The forked Node client process, driven over its IPC channel. */
export class ClientProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #exitReason: string | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.#exitReason = `the client process exited with ${signal ?? code}`;
        for (const pending of this.#pending.values()) pending.reject(new Error(this.#exitReason));
        this.#pending.clear();
        resolve();
      }),
    );
    child.on('message', (message: { id?: number; error?: string }) => {
      if (message.id === undefined) return;
      const pending = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message as Record<string, unknown>);
    });
  }

  /** Forks workers/net-client (through tsx from source, plain node from dist/). */
  static async start(): Promise<ClientProcess> {
    const extension = extname(__filename);
    const file = join(__dirname, '..', 'workers', `net-client${extension}`);
    const child = fork(file, [], {
      execArgv:
        extension === '.ts'
          ? ['--conditions=@managers/source', '--require', require.resolve('tsx/cjs')]
          : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const client = new ClientProcess(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code, signal) =>
        reject(new Error(`the client process exited with ${signal ?? code} before it was ready`)),
      );
    });
    return client;
  }

  /** Sends a command; a process that has not answered within `REQUEST_TIMEOUT_MS` is killed. */
  request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#exitReason !== undefined) return Promise.reject(new Error(this.#exitReason));
    const id = this.#nextId++;
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), REQUEST_TIMEOUT_MS);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ id, ...message });
    }).finally(() => clearTimeout(timer));
  }

  /** Asks the process to release everything and exit; kills it if it has not within 5 s. */
  async close(): Promise<void> {
    if (this.#exitReason === undefined) {
      await this.request({ t: 'teardown' }).catch(() => undefined);
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
      await this.#exited;
      clearTimeout(timer);
    }
  }
}

/** What the Python driver says when its managers are up. */
export interface PythonReady {
  readonly python: string;
  readonly addresses: Record<string, unknown>;
}

/** python/mp_socket_bench.py: Python's managers and their client, one JSON line per command. */
export class PythonDriver {
  readonly #child: ChildProcess;
  readonly #replies: ((line: string | Error) => void)[] = [];
  readonly #exited: Promise<void>;
  #stderr = '';
  #exitReason: string | undefined;
  readonly ready: Promise<PythonReady>;

  constructor(authkey: string, unixPath: string) {
    const script = join(__dirname, '..', '..', 'python', 'mp_socket_bench.py');
    const child = spawn('python3', [script, authkey, unixPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stderr!.on(
      'data',
      (chunk: Buffer) => (this.#stderr = (this.#stderr + chunk).slice(-2000)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => this.#replies.shift()?.(line));
    const failed = (reason: string) => {
      this.#exitReason ??= reason;
      for (const waiting of this.#replies.splice(0)) waiting(new Error(this.#exitReason));
    };
    this.#exited = new Promise((resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        failed(error.code === 'ENOENT' ? 'python3 not found' : `python3 failed: ${error.message}`);
        resolve();
      });
      child.once('close', (code, signal) => {
        const last = this.#stderr.trim().split('\n').slice(-1)[0] ?? '';
        failed(`python3 exited with ${signal ?? code}${last ? `: ${last}` : ''}`);
        resolve();
      });
    });
    this.ready = this.#next().then((reply) => reply as unknown as PythonReady);
  }

  #next(): Promise<Record<string, unknown>> {
    if (this.#exitReason !== undefined) return Promise.reject(new Error(this.#exitReason));
    return new Promise((resolve, reject) => {
      this.#replies.push((line) => {
        if (line instanceof Error) return reject(line);
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          reject(new Error(`python3 printed something other than JSON: ${line.slice(0, 200)}`));
        }
      });
    });
  }

  /** Sends a command; a driver that has not answered within `REQUEST_TIMEOUT_MS` is killed. */
  request(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = this.#next();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), REQUEST_TIMEOUT_MS);
    this.#child.stdin!.write(`${JSON.stringify(command)}\n`);
    return reply.finally(() => clearTimeout(timer));
  }

  /** Shuts Python's managers down; kills the driver if it has not exited within 10 s. */
  async close(): Promise<void> {
    if (this.#exitReason === undefined) {
      await this.request({ t: 'quit' }).catch(() => undefined);
      this.#child.stdin!.end();
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** A bare `net` server writing back every chunk it receives: the floor of a round trip. */
export class EchoServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static listen(address: NetworkAddress): Promise<EchoServer> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        resolve(new EchoServer(server));
      };
      if ('path' in address) server.listen(address.path, listening);
      else server.listen(address.port, address.host, listening);
    });
  }

  get address(): NetworkAddress {
    const bound = this.#server.address();
    if (typeof bound === 'string') return { path: bound };
    const info = bound as AddressInfo;
    return { host: info.address, port: info.port };
  }

  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
