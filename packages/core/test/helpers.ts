import { once } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MessageChannel } from 'node:worker_threads';

/** The magnifier fixture module, for `start({ module })`. */
export const MAGNIFIER_MODULE = require.resolve('./fixtures/magnifier');
/** The kitchen fixture module, for `start({ module })`. */
export const KITCHEN_MODULE = require.resolve('./fixtures/kitchen');

/** Waits one turn of the event loop (lets queued releases be posted). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let gcFunction: (() => void) | undefined;

/** Forces garbage collection a few times, letting FinalizationRegistry callbacks run in between. */
export async function forceGC(rounds = 4): Promise<void> {
  if (gcFunction === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  for (let i = 0; i < rounds; i++) {
    gcFunction();
    await tick();
  }
}

/** Polls `read` until it returns `expected` or `ms` pass; returns the last value read. */
export async function pollUntil<T>(read: () => Promise<T>, expected: T, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await sleep(10);
    value = await read();
  }
  return value;
}

/**
 * Polls `read` until `done(value)` or `ms` pass, collecting garbage before each new read (so
 * that a proxy dropped without release gives its reference back meanwhile); returns the last
 * value read.
 */
export async function collectUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await forceGC(1);
    await sleep(5);
    value = await read();
  }
  return value;
}

/** Awaits `promise`, expecting it to reject; returns the rejection (fails the test otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<{
  name: string;
  code: string;
  message: string;
  cause?: unknown;
  details?: Record<string, unknown>;
  remoteStack?: string;
}> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The error `run` throws (it must throw), with the fields the tests read. */
export function thrown(run: () => unknown): {
  name: string;
  code: string;
  message: string;
  cause?: { name: string; message: string };
  details?: Record<string, unknown>;
  remoteStack?: string;
} {
  try {
    run();
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a throw, but it returned');
}

/** Posts `value` with its transfer list through a channel and returns what arrives. */
export async function roundTrip(
  value: unknown,
  transferList: readonly unknown[],
): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(value, transferList as never);
    const [received] = (await once(port2, 'message')) as [unknown];
    return received;
  } finally {
    port1.close();
    port2.close();
  }
}
