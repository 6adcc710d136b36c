/**
 * Compile-time checks of `Remote<T>` and the manager types (ts-jest type-checks this file: a
 * wrong type or an unused `@ts-expect-error` fails the suite). The runtime part runs nothing
 * remote: the checks live in a function that is never called.
 */
import type {
  BaseProxy,
  Borrowed,
  ExportedProxy,
  LeaseReport,
  Loan,
  ManagerInstance,
  NetworkAddress,
  ProxyFor,
  Remote,
} from '@managers/core';
import { BaseManager, borrow, exportProxy, importProxy, lend } from '@managers/core';
import { Counter, CounterProxy, KitchenManager, Toolbox } from './fixtures/kitchen';
import { MagManager, Magnifier } from './fixtures/magnifier';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_value?: T): void {}

async function magnifierChecks(manager: Awaited<ReturnType<typeof MagManager.start>>) {
  const mag = await manager.Magnifier(2);
  const scaled: Promise<number> = mag.scale(3);
  assertType<Equal<ReturnType<typeof mag.scale>, Promise<number>>>();
  await scaled;
  // clone(): methodToTypeid → 'ClonedMagnifier' (callable: null) hosts the returned Magnifier.
  const clone = await mag.clone();
  assertType<Equal<ReturnType<typeof clone.scale>, Promise<number>>>();
  const cloneOfClone = await clone.clone();
  await cloneOfClone.scale(1);
  // spawn(): methodToTypeid → 'Magnifier' (a callable): a Magnifier proxy.
  const spawn = await mag.spawn(3);
  assertType<Equal<ReturnType<typeof spawn.scale>, Promise<number>>>();
  const spawnClone = await spawn.clone();
  await spawnClone.scale(2);
  // Proxies are BaseProxies, with their own members.
  const base: BaseProxy = mag;
  const released: boolean = mag.released;
  mag[Symbol.dispose]();
  await spawn[Symbol.asyncDispose]();
  // Mag is a function: its return type is the hosted object.
  const cached = await manager.Mag(2);
  assertType<Equal<ReturnType<typeof cached.scale>, Promise<number>>>();
  // The generic create() knows the typeids and their arguments.
  const created = await manager.create('Magnifier', 4);
  await created.scale(1);

  // @ts-expect-error scale takes a number
  await mag.scale('3');
  // @ts-expect-error Magnifier(coef) takes a number
  await manager.Magnifier('2');
  // @ts-expect-error no such method
  await mag.rotate(1);
  // @ts-expect-error createMethod: false — no manager.ClonedMagnifier
  await manager.ClonedMagnifier(mag);
  // @ts-expect-error no such typeid
  await manager.create('Nope');
  // @ts-expect-error spawn's argument is a number
  await mag.spawn('x');
  // @ts-expect-error the proxy's methods are async: the result is not a number
  const notANumber: number = mag.scale(1);
  return [base, released, notANumber];
}

async function kitchenChecks(manager: Awaited<ReturnType<typeof KitchenManager.start>>) {
  const toolbox = await manager.Toolbox();
  // @ts-expect-error `_`-prefixed methods are not on the proxy type
  await toolbox._hidden();
  // methodToTypeid to a callable: null typeid: a proxy of the returned value's type.
  const box = await toolbox.slowBox(1);
  const base: BaseProxy = box;
  // Generic methods keep a usable type.
  const echoed = await toolbox.echo(1);
  // callable: null: manager.Box(object) hosts that object.
  const hosted = await manager.Box({ a: 1 });
  // @ts-expect-error Box takes one object
  await manager.Box();
  const inc: Promise<number> = toolbox.inc();
  // A class with a custom proxytype: the create method's type follows the hosted object.
  const counter = await manager.Counter();
  const next: Promise<number> = counter.increment();
  return [base, echoed, hosted, inc, next];
}

function registerChecks(): void {
  // @ts-expect-error callable must be a function or a class
  BaseManager.register('X', { callable: 42 });
  // @ts-expect-error methodToTypeid values are strings
  BaseManager.register('X', { callable: Toolbox, methodToTypeid: { inc: 1 } });
  // @ts-expect-error exposed is a string array
  BaseManager.register('X', { callable: Toolbox, exposed: 'inc' });
  const Manager = BaseManager.register('Counter', { callable: Counter, proxytype: CounterProxy });
  const instance: ManagerInstance<{}> | undefined = undefined;
  void Manager;
  void instance;
}

async function exposedAndProxyForChecks(): Promise<unknown[]> {
  // `exposed` given as a literal list: the proxy's type shows only those methods.
  const Narrow = BaseManager.register('Magnifier', {
    callable: Magnifier,
    exposed: ['scale'],
  });
  type NarrowProxy = ProxyFor<typeof Narrow, 'Magnifier'>;
  assertType<Equal<NarrowProxy['scale'], (x: number) => Promise<number>>>();
  // @ts-expect-error clone is not exposed
  type NoClone = NarrowProxy['clone'];
  const manager = await Narrow.start({ module: '/unused' });
  const mag = await manager.Magnifier(2);
  // @ts-expect-error clone is not exposed
  await mag.clone();
  const scaled: Promise<number> = mag.scale(2);

  // Without `exposed`, ProxyFor is the full proxy (methodToTypeid methods resolve to proxies).
  type FullProxy = ProxyFor<typeof MagManager, 'Magnifier'>;
  assertType<Equal<FullProxy['scale'], (x: number) => Promise<number>>>();
  const full: FullProxy = await (await MagManager.start({ module: '/unused' })).Magnifier(1);
  const spawned: ProxyFor<typeof MagManager, 'Magnifier'> = await full.spawn(2);
  // The same from a manager instance's type.
  type FromInstance = ProxyFor<typeof manager, 'Magnifier'>;
  assertType<Equal<FromInstance, NarrowProxy>>();
  // @ts-expect-error no such typeid
  const none: ProxyFor<typeof MagManager, 'Nope'> = full;
  const noClone: NoClone | undefined = undefined;
  return [scaled, spawned, none, noClone];
}

async function networkChecks() {
  // connect() takes a handle or { address, authkey } and gives the same manager type.
  const remote = await MagManager.connect({
    address: { host: '127.0.0.1', port: 1 },
    authkey: 'k',
  });
  const viaUnix = await MagManager.connect({
    address: { path: '/run/app.sock' },
    authkey: new Uint8Array([1]),
    tls: { ca: 'pem' },
  });
  const mag = await remote.Magnifier(2);
  assertType<Equal<ReturnType<typeof mag.scale>, Promise<number>>>();
  const address: NetworkAddress | undefined = viaUnix.address;
  // @ts-expect-error an address needs a port or a path
  await MagManager.connect({ address: { host: 'x' }, authkey: 'k' });
  const exported: ExportedProxy = await exportProxy(mag, { lease: 1000 });
  const key: string = exported.key;
  const imported = await importProxy<Remote<Magnifier>>(exported, { authkey: 'k' });
  assertType<Equal<ReturnType<typeof imported.scale>, Promise<number>>>();
  return [address, key];
}

function loanChecks(mag: Remote<Magnifier>) {
  const loan: Loan<{ mag: Remote<Magnifier> }> = lend({ mag });
  const received: Borrowed<{ mag: Remote<Magnifier> }> = borrow(loan.value);
  const report: LeaseReport = received.handBack();
  const borrowedKeys: string[] = report.borrowed;
  const returnedKeys: string[] = report.returned;
  loan.end(borrowedKeys, returnedKeys);
  loan.end(report);
  // @ts-expect-error the lists are of lease keys
  loan.end([1]);
  // @ts-expect-error a report has both lists
  loan.end({ borrowed: [] });
  return received.finish();
}

type MagRemote = Remote<Magnifier>;
assertType<Equal<MagRemote['scale'], (x: number) => Promise<number>>>();
// @ts-expect-error no constructor / private members on Remote
type NoCoef = MagRemote['coef'];

test('type checks compile (ts-jest type-checks this file)', () => {
  expect(typeof magnifierChecks).toBe('function');
  expect(typeof kitchenChecks).toBe('function');
  expect(typeof registerChecks).toBe('function');
  expect(typeof exposedAndProxyForChecks).toBe('function');
  expect(typeof networkChecks).toBe('function');
  expect(typeof loanChecks).toBe('function');
  const noCoef: NoCoef | undefined = undefined;
  expect(noCoef).toBeUndefined();
});
