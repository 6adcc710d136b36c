/** A proxy posted as it is (raw workerData, raw postMessage) gives an error that says what to do. */
import { MessageChannel, Worker } from 'node:worker_threads';
import { installRefcountMatchers } from '@managers/refcount/jest';
import { KitchenManager } from './fixtures/kitchen';
import { KITCHEN_MODULE } from './helpers';

installRefcountMatchers();

function thrown(action: () => unknown): Record<string, any> {
  try {
    action();
  } catch (error) {
    return error as Record<string, any>;
  }
  throw new Error('nothing was thrown');
}

const HINT =
  /was posted as it is \(in raw workerData or a raw postMessage\), which cannot carry a proxy: use createWorker\(file, \{ workerData \}\), postMessage\(target, value\) or encode\(value\) from @managers\/core/;

test('an AutoProxy in raw workerData → ERR_PROXY_NOT_ENCODED naming createWorker, Node’s error as cause', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  {
    using toolbox = await manager.Toolbox();
    const error = thrown(
      () => new Worker('process.exit(0)', { eval: true, workerData: { nested: [toolbox] } }),
    );
    expect(error.name).toBe('ManagerError');
    expect(error.code).toBe('ERR_PROXY_NOT_ENCODED');
    expect(error.message).toMatch(/^<AutoProxy\[Toolbox\] object/);
    expect(error.message).toMatch(HINT);
    // A proxy in a plain Piscina task fails here too: the message names the pool that takes one.
    expect(error.message).toContain('for a Piscina pool, ManagedPool');
    expect(error.cause.name).toBe('DataCloneError');
    expect(await toolbox.inc()).toBe(1); // the proxy still works
  }
  await expect(manager).toHaveNoLiveObjects();
});

test('a custom proxy class in a raw port.postMessage → ERR_PROXY_NOT_ENCODED (not an empty object)', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const { port1, port2 } = new MessageChannel();
  try {
    using counter = await manager.Counter();
    const error = thrown(() => port1.postMessage({ counter }));
    expect(error.name).toBe('ManagerError');
    expect(error.code).toBe('ERR_PROXY_NOT_ENCODED');
    expect(error.message).toMatch(/^<CounterProxy object/);
    expect(error.message).toMatch(HINT);
    expect(error.cause.name).toBe('DataCloneError');
  } finally {
    port1.close();
    port2.close();
  }
  await expect(manager).toHaveNoLiveObjects();
});

test('other clone errors are left as they are', () => {
  const { port1, port2 } = new MessageChannel();
  try {
    const error = thrown(() => port1.postMessage({ callback: () => 1 }));
    expect(error.name).toBe('DataCloneError');
  } finally {
    port1.close();
    port2.close();
  }
});
