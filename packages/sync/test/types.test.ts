/**
 * Compile-time checks of the @managers/sync types (ts-jest type-checks this file: a wrong type
 * or an unused `@ts-expect-error` fails the suite). The checks live in a function never called.
 */
import { asSyncProxy, type MapProxy, type QueueProxy } from '@managers/sync';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_value?: T): void {}

async function asSyncProxyChecks(received: object): Promise<unknown[]> {
  const lengths = asSyncProxy<string, number>(received, 'Map');
  assertType<Equal<typeof lengths, MapProxy<string, number>>>();
  await lengths.set('a', 1);
  // @ts-expect-error the values are numbers
  await lengths.set('a', 'one');
  const jobs = asSyncProxy<{ id: number }>(received, 'Queue');
  assertType<Equal<typeof jobs, QueueProxy<{ id: number }>>>();
  const untyped = asSyncProxy(received, 'Map');
  assertType<Equal<typeof untyped, MapProxy>>();
  const lock = asSyncProxy(received, 'Lock');
  await lock.acquire();
  return [lengths, jobs, untyped];
}

test('type checks compile (ts-jest type-checks this file)', () => {
  expect(typeof asSyncProxyChecks).toBe('function');
});
