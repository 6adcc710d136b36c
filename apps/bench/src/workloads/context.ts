/** What every workload gets: the shared workers, the manager, the run's settings. */
import {
  MessageChannel,
  type MessagePort,
  type TransferListItem,
  type Worker,
} from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import * as core from '@managers/core';
import type { ComlinkApi } from '../workers/comlink';
import { ready, startWorker } from '../workers/start';
import { BenchManager } from '../registry';
import type { InterleaveOptions } from '../measure';

export type Manager = Awaited<ReturnType<(typeof BenchManager)['start']>>;
export type Encode = (
  value: unknown,
  options?: { target?: object },
) => { value: unknown; transferList: TransferListItem[] };

/** `encode` from @managers/core when the handoff API exists. */
export function handoffEncode(): Encode | undefined {
  const candidate = (core as unknown as { encode?: unknown }).encode;
  const decode = (core as unknown as { decode?: unknown }).decode;
  return typeof candidate === 'function' && typeof decode === 'function'
    ? (candidate as Encode)
    : undefined;
}

/**
 * The raw baseline over one MessagePort: one outstanding round trip at a time, or a window
 * of outstanding messages counted with plain integers (no ids, no map).
 */
export class RawClient {
  readonly #port: MessagePort;
  #resolve: ((value: unknown) => void) | undefined;
  #window: { sent: number; received: number; total: number; done: () => void } | undefined;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (message: unknown) => {
      const window = this.#window;
      if (window !== undefined) {
        window.received++;
        if (window.sent < window.total) {
          window.sent++;
          port.postMessage(window.sent);
        } else if (window.received === window.total) {
          this.#window = undefined;
          window.done();
        }
        return;
      }
      const resolve = this.#resolve;
      this.#resolve = undefined;
      resolve?.(message);
    });
  }

  /** One message there and back. */
  roundTrip(message: unknown, transfer?: TransferListItem[]): Promise<unknown> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#port.postMessage(message, transfer);
    });
  }

  /** `total` round trips with `window` outstanding. */
  pipelined(total: number, window: number): Promise<void> {
    return new Promise((done) => {
      const state = { sent: 0, received: 0, total, done };
      this.#window = state;
      const first = Math.min(window, total);
      for (let i = 0; i < first; i++) {
        state.sent++;
        this.#port.postMessage(state.sent);
      }
    });
  }

  close(): void {
    this.#port.close();
  }
}

/** A worker thread reached through one MessageChannel. */
export interface PortWorker {
  readonly worker: Worker;
  readonly port: MessagePort;
}

/** Starts `src/workers/<name>` with its end of a fresh channel; resolves once it is ready. */
export async function startPortWorker(name: string): Promise<PortWorker> {
  const { port1, port2 } = new MessageChannel();
  const worker = startWorker(name, { port: port2 }, [port2]);
  try {
    await ready(worker);
  } catch (error) {
    port1.close();
    await worker.terminate();
    throw error;
  }
  return { worker, port: port1 };
}

export interface Context {
  readonly quick: boolean;
  readonly measure: InterleaveOptions;
  readonly manager: Manager;
  readonly raw: RawClient;
  readonly comlink: Comlink.Remote<ComlinkApi>;
  /** Starts an extra worker; it is terminated at the end of the run. */
  startPortWorker(name: string): Promise<PortWorker>;
  log(line: string): void;
}

export { Comlink, nodeEndpoint, BenchManager };
