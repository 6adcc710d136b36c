/**
 * Compile-time checks of `SyncRemote<T>` and `syncProxy()` (ts-jest type-checks this file: a
 * wrong type or an unused `@ts-expect-error` fails the suite). The checks live in a function
 * that is never called.
 */
import type { BaseProxy, Remote, SyncCaller, SyncRemote } from '@managers/core';
import { syncFormSymbol, syncProxy } from '@managers/core';
import { MagManager, Magnifier } from './fixtures/magnifier';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_value?: T): void {}

async function syncChecks(manager: Awaited<ReturnType<typeof MagManager.start>>) {
  const mag = syncProxy(await manager.Magnifier(2));
  // Promise<R>-returning methods return R.
  const scaled: number = mag.scale(3);
  assertType<Equal<ReturnType<typeof mag.scale>, number>>();
  void scaled;
  // methodToTypeid methods return synchronous proxies, whose methods are synchronous too.
  const spawn = mag.spawn(3);
  assertType<Equal<ReturnType<typeof spawn.scale>, number>>();
  const clone = mag.clone();
  assertType<Equal<ReturnType<typeof clone.scale>, number>>();
  assertType<Equal<ReturnType<ReturnType<typeof clone.clone>['scale']>, number>>();
  // The proxy's own members stay.
  const released: boolean = mag.released;
  void released;
  mag[Symbol.dispose]();
  const base: BaseProxy = syncProxy(await manager.Magnifier(2)) as unknown as BaseProxy;
  void base;

  // @ts-expect-error scale takes a number
  mag.scale('3');
  // @ts-expect-error the result is a number, not a Promise
  const notPromise: Promise<number> = mag.scale(1);
  void notPromise;
  // @ts-expect-error no such method
  mag.rotate(1);
}

type SyncMag = SyncRemote<Remote<Magnifier>>;
assertType<Equal<SyncMag['scale'], (x: number) => number>>();

/** A custom proxy class with its own synchronous form: syncProxy() returns that form's type. */
declare class TickerProxy extends (Object as unknown as new () => BaseProxy) {
  tick(): Promise<number>;
  [syncFormSymbol](caller: SyncCaller): { tick(): number; tickTwice(): number };
}
function formChecks(ticker: TickerProxy) {
  const sync = syncProxy(ticker);
  assertType<Equal<typeof sync, { tick(): number; tickTwice(): number }>>();
}

test('synchronous proxy types compile (ts-jest type-checks this file)', () => {
  expect(typeof syncChecks).toBe('function');
  expect(typeof formChecks).toBe('function');
});
