/** The demo's pool task: increments the shared counter and appends to the shared list. */
import type { Remote } from '@managers/core';
import { defineTask } from '@managers/piscina';
import type { Counter } from './managers';
import type { List } from './pools';

export default defineTask(
  async ({
    counter,
    list,
    item,
  }: {
    counter: Remote<Counter>;
    list: Remote<List>;
    item: number;
  }) => {
    await counter.increment();
    await list.append(item);
    return item;
  },
);

/** Carries the counter without calling it (the per-task cost of a lent proxy). */
export const carry = defineTask(({ item }: { counter: Remote<Counter>; item: number }) => item);

/** A plain Piscina task, for comparison. */
export function plain({ item }: { item: number }): number {
  return item;
}
