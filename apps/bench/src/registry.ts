/**
 * The bench's manager class. The server worker loads this module (start it with
 * `module: require.resolve('./registry')`), so it must stay free of side effects.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { BaseManager, transfer } from '@managers/core';
import { usedBytes } from './used-bytes';

/** Echoes: the minimal call, and the 16 MiB buffer workload. */
export class Echo {
  ping(value?: unknown): unknown {
    return value;
  }
  /** Receives a buffer (copied or transferred) and replies with its length. */
  size(buffer: ArrayBuffer): number {
    return buffer.byteLength;
  }
  /** Receives a buffer and transfers it back (a zero-copy round trip when the argument was transferred too). */
  bounce(buffer: ArrayBuffer): ArrayBuffer {
    return transfer(buffer);
  }
}

/** The object created and released in the create+release and memory workloads. */
export class Counter {
  n = 0;
  ping(): void {}
  increment(): number {
    return ++this.n;
  }
}

/** A hosted Map-like object. */
export class BenchMap {
  readonly #map = new Map<string, unknown>();
  set(key: string, value: unknown): void {
    this.#map.set(key, value);
  }
  get(key: string): unknown {
    return this.#map.get(key);
  }
  size(): number {
    return this.#map.size;
  }
}

let gcFunction: (() => void) | undefined;
function collect(): void {
  if (gcFunction === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < 4; i++) gcFunction();
}

/** Reads the server worker's memory. */
export class Memory {
  /** The server worker's memory after a full GC (see {@link usedBytes}). */
  usedBytes(): number {
    collect();
    return usedBytes();
  }
}

export const BenchManager = BaseManager.register('Echo', { callable: Echo })
  .register('Counter', { callable: Counter })
  .register('Map', { callable: BenchMap })
  .register('Memory', { callable: Memory });

export type BenchManager = InstanceType<typeof BenchManager>;
