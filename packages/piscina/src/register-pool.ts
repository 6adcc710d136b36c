/**
 * `registerPool(ManagerClass)`: adds Python's `manager.Pool()` to any manager class (a
 * `SyncManager`, a `BaseManager.register(...)` chain). A registration exported from here rather
 * than a typeid of `@managers/sync`: sync and piscina are on the same floor and neither imports
 * the other; a manager class that wants pools takes this one function.
 */
import type { ManagerHandle, StartOptions } from '@managers/core';
import { HostedPool, type HostedPoolOptions } from './hosted-pool';
import { PoolProxy } from './pool-proxy';

/** The create method `registerPool` adds. */
export interface PoolCreateMethod {
  /**
   * Python's `manager.Pool()`: a `ManagedPool` hosted by the manager's server, whose proxy any
   * thread can `run(task)` on. It goes (its threads end) when its last proxy is released.
   */
  Pool(options: HostedPoolOptions): Promise<PoolProxy>;
}

type Started<M> = M extends { start(options: StartOptions): Promise<infer I> } ? I : never;

/** A manager class `M` with `Pool()` registered. */
export type WithPool<M> = Omit<M, 'start' | 'connect' | 'prototype'> & {
  new (): Started<M> & PoolCreateMethod;
  start(options: StartOptions): Promise<Started<M> & PoolCreateMethod>;
  connect(handle: ManagerHandle): Promise<Started<M> & PoolCreateMethod>;
};

interface Registering {
  register(typeid: string, options: object): unknown;
  start(options: StartOptions): Promise<unknown>;
}

/** The methods a pool proxy calls in the server (`run` goes through the relay port instead). */
export const POOL_EXPOSED = ['channel', 'close', 'stats'] as const;

/**
 * Returns `managerClass` with typeid `Pool` registered (the receiver is unchanged, as with
 * `register`). Export the result from the registry module the manager is started with:
 *
 * ```ts
 * // managers.ts
 * import { SyncManager } from '@managers/sync';
 * import { registerPool } from '@managers/piscina';
 * export const MyManager = registerPool(SyncManager);
 *
 * // main.ts
 * await using manager = await MyManager.start({ module: require.resolve('./managers') });
 * await using pool = await manager.Pool({ filename: require.resolve('./tasks'), maxThreads: 2 });
 * await pool.run({ list, item: 1 }); // from this thread or any thread the proxy is sent to
 * ```
 */
export function registerPool<M extends Registering>(managerClass: M): WithPool<M> {
  return managerClass.register('Pool', {
    callable: (options: HostedPoolOptions) => new HostedPool(options),
    proxytype: PoolProxy,
    exposed: POOL_EXPOSED,
  }) as WithPool<M>;
}
