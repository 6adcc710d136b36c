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
