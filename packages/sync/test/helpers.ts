import { startSyncManager, type SyncManager } from '@managers/sync';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a SyncManager for a test (`await using manager = await syncManager()`). */
export function syncManager(): Promise<SyncManager> {
  return startSyncManager();
}

/** Awaits `promise`, expecting a rejection; returns it. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ name: string; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Polls `read` until it returns `expected` (or `ms` pass); returns the last value. */
export async function pollUntil<T>(read: () => Promise<T>, expected: T, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await sleep(10);
    value = await read();
  }
  return value;
}
