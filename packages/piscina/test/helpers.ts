import { join } from 'node:path';
import type { PoolManagerInstance } from './fixtures/managers';

/** The pool task file (TypeScript: ManagedPool adds the tsx execArgv by itself). */
export const TASKS = join(__dirname, 'fixtures', 'tasks.ts');

/** Polls until `check` holds or `ms` pass. */
export async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The references to `id` per holder (empty when the object is gone). */
export async function holdersOf(
  manager: PoolManagerInstance,
  id: number,
): Promise<Record<string, number>> {
  return { ...(await manager.entries()).find((entry) => entry.id === id)?.holders };
}

/** Waits until the only references to `id` are `expected` (by holder). */
export async function holdersBecome(
  manager: PoolManagerInstance,
  id: number,
  expected: Record<string, number>,
): Promise<void> {
  await eventually(async () => {
    const holders = await holdersOf(manager, id);
    return JSON.stringify(sorted(holders)) === JSON.stringify(sorted(expected));
  }).catch(async () => {
    expect(await holdersOf(manager, id)).toEqual(expected);
  });
}

function sorted(record: Record<string, number>): [string, number][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

/** The pool thread holding a reference to `id` (waits until one does). */
export async function threadOf(manager: PoolManagerInstance, id: number): Promise<string> {
  let holder: string | undefined;
  await eventually(async () => {
    holder = Object.keys(await holdersOf(manager, id)).find((name) => name.startsWith('thread-'));
    return holder !== undefined;
  });
  return holder!;
}

/** Waits until the manager's object table is empty, and asserts it is (the end of a test). */
export async function tableBecomesEmpty(manager: {
  numberOfObjects(): Promise<number>;
}): Promise<void> {
  await eventually(async () => (await manager.numberOfObjects()) === 0);
  expect(await manager.numberOfObjects()).toBe(0);
}
