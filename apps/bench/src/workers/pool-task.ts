/**
 * Task file of the pool workload: a plain Piscina task, and the same work as a `ManagedPool`
 * task carrying a proxy (used, or not).
 */
import { defineTask } from '@managers/piscina';

/** A plain Piscina task: returns its item. */
export function plain(task: { item: number }): number {
  return task.item;
}

/** Carries a proxy, does not call it. */
export const carry = defineTask((task: { counter: object; item: number }) => task.item);

/** Carries a proxy and calls it once. */
export const call = defineTask(
  async (task: { counter: { ping(): Promise<void> }; item: number }) => {
    await task.counter.ping();
    return task.item;
  },
);

/** Piscina loads the default export when a worker starts. */
export default plain;
