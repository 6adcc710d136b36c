/** start() / shutdown(): option checks, state errors, dispose at shutdown, pending calls, crashes. */
import { BaseManager, type StartOptions } from '@managers/core';
import { KitchenManager } from './fixtures/kitchen';
import { KITCHEN_MODULE, rejection, sleep } from './helpers';
import { connectionFor } from '../src/threads';

describe('start() options', () => {
  test.each([
    ['module missing', {}, /options\.module is invalid/],
    [
      'module relative',
      { module: './fixtures/kitchen' },
      /options\.module must be an absolute path/,
    ],
    ['timeout negative', { module: KITCHEN_MODULE, timeout: -1 }, /options\.timeout is invalid/],
    [
      'timeout not a number',
      { module: KITCHEN_MODULE, timeout: '5' },
      /options\.timeout is invalid/,
    ],
    ['unknown option', { module: KITCHEN_MODULE, modul: 'x' }, /modul/],
  ])('%s → ERR_INVALID_OPTION', async (_what, options, message) => {
    const error = await rejection(KitchenManager.start(options as unknown as StartOptions));
    expect(error.name).toBe('ManagerError');
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toMatch(message);
  });

  test('starting a started manager → ERR_ALREADY_STARTED; after shutdown too', async () => {
    await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
    const error = await rejection(manager.start({ module: KITCHEN_MODULE }));
    expect(error.code).toBe('ERR_ALREADY_STARTED');
    expect(error.message).toContain('already started');
    expect(await manager.numberOfObjects()).toBe(0);
    await manager.shutdown();
    const again = await rejection(manager.start({ module: KITCHEN_MODULE }));
    expect(again.code).toBe('ERR_ALREADY_STARTED');
    expect(again.message).toContain('shut down');
  });

  test('the initializer option runs in the server worker with its arguments', async () => {
    await using manager = await KitchenManager.start({
      module: KITCHEN_MODULE,
      initializer: 'setup',
      initializerArgs: ['hello', { n: 1 }],
    });
    const toolbox = await manager.Toolbox();
    expect(await toolbox.initialized()).toEqual(['hello', { n: 1 }]);
    // It ran in the server worker, not here.
    const here = jest.requireActual<typeof import('./fixtures/kitchen')>('./fixtures/kitchen');
    expect(new here.Toolbox().initialized()).toBeUndefined();
    toolbox[Symbol.dispose]();
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('an initializer that throws → start() rejects ERR_START_FAILED with the cause', async () => {
    const error = await rejection(
      KitchenManager.start({ module: KITCHEN_MODULE, initializer: 'failingSetup' }),
    );
    expect(error.code).toBe('ERR_START_FAILED');
    expect(error.message).toContain('initializer exploded');
    expect(error.cause).toMatchObject({ name: 'Error', message: 'initializer exploded' });
  });

  test('an initializer that is not an exported function → ERR_START_FAILED naming it', async () => {
    const error = await rejection(
      KitchenManager.start({ module: KITCHEN_MODULE, initializer: 'noSuchFunction' }),
    );
    expect(error.code).toBe('ERR_START_FAILED');
    expect(error.message).toContain("'noSuchFunction'");
  });

  test('a registry module that throws on load → ERR_START_FAILED with its message', async () => {
    const error = await rejection(
      KitchenManager.start({ module: require.resolve('./fixtures/bad-module') }),
    );
    expect(error.code).toBe('ERR_START_FAILED');
    expect(error.message).toContain('module failed to load');
  });

  test('a module exporting no manager class → ERR_START_FAILED naming options.module', async () => {
    const error = await rejection(KitchenManager.start({ module: require.resolve('./helpers') }));
    expect(error.code).toBe('ERR_START_FAILED');
    expect(error.message).toContain('options.module');
    expect(error.message).toContain('exports no manager class');
  });
});

describe('shutdown()', () => {
  test('disposes every hosted object (sync and async hooks run)', async () => {
    const flags = new SharedArrayBuffer(4 * 4);
    const view = new Int32Array(flags);
    const manager = await KitchenManager.start({ module: KITCHEN_MODULE });
    try {
      const first = await manager.Resource(flags, 0);
      const second = await manager.Resource(flags, 1);
      const third = await manager.AsyncResource(flags, 2);
      expect(await first.ping()).toBe('pong');
      expect(await third.ping()).toBe('pong');
      expect(await manager.numberOfObjects()).toBe(3);
      expect([...view]).toEqual([0, 0, 0, 0]);
      // An object released before shutdown is disposed at once.
      await second[Symbol.asyncDispose]();
      expect(await manager.numberOfObjects()).toBe(2);
      expect(Atomics.load(view, 1)).toBe(1);
      await manager.shutdown();
      expect([...view]).toEqual([1, 1, 2, 0]);
      expect(manager.closed).toBe(true);
      expect(first.released).toBe(true);
    } finally {
      await manager.shutdown();
    }
  });

  test('rejects pending calls with ERR_MANAGER_CLOSED; later calls too; a second shutdown is harmless', async () => {
    const manager = await KitchenManager.start({ module: KITCHEN_MODULE });
    try {
      const toolbox = await manager.Toolbox();
      const pending = rejection(toolbox.never());
      await sleep(10);
      await manager.shutdown();
      const error = await pending;
      expect(error.code).toBe('ERR_MANAGER_CLOSED');
      expect(error.message).toContain('is closed: the manager was shut down');

      await manager.shutdown();
      for (const late of [
        toolbox.echo(1),
        manager.Toolbox(),
        manager.numberOfObjects(),
        manager.debugInfo(),
      ]) {
        expect((await rejection(late)).code).toBe('ERR_MANAGER_CLOSED');
      }
      // Releasing after shutdown is silent.
      expect(() => toolbox[Symbol.dispose]()).not.toThrow();
    } finally {
      await manager.shutdown();
    }
  });

  test('`await using` shuts the manager down at the end of the block', async () => {
    let kept: Awaited<ReturnType<typeof KitchenManager.start>> | undefined;
    {
      await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
      kept = manager;
      expect(manager.closed).toBe(false);
      expect(await manager.numberOfObjects()).toBe(0);
    }
    expect(kept.closed).toBe(true);
    expect((await rejection(kept.numberOfObjects())).code).toBe('ERR_MANAGER_CLOSED');
  });

  test('shutdown of a manager never started is harmless; using it says it is closed', async () => {
    const manager = new KitchenManager();
    await manager.shutdown();
    expect(manager.closed).toBe(true);
    expect((await rejection(manager.numberOfObjects())).code).toBe('ERR_MANAGER_CLOSED');
  });
});

describe('the server worker dies', () => {
  test.each([
    ['process.exit() in a hosted method', 'exit' as const],
    ['an uncaught exception in the server worker', 'crash' as const],
  ])('%s → pending and later calls reject promptly with ERR_MANAGER_CLOSED', async (_what, how) => {
    await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
    const toolbox = await manager.Toolbox();
    const other = await manager.Toolbox();
    expect(await manager.numberOfObjects()).toBe(2);
    const started = Date.now();
    const pending = rejection(other.never());
    // crash() may return before its setImmediate throws: only exit() must reject.
    const killer = how === 'exit' ? rejection(toolbox.exit()) : toolbox.crash().catch(() => null);
    const error = await pending;
    expect(error.code).toBe('ERR_MANAGER_CLOSED');
    if (how === 'exit')
      expect(((await killer) as { code: string }).code).toBe('ERR_MANAGER_CLOSED');
    else await killer;
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await rejection(toolbox.echo(1))).code).toBe('ERR_MANAGER_CLOSED');
    expect((await rejection(manager.Toolbox())).code).toBe('ERR_MANAGER_CLOSED');
    expect((await rejection(manager.numberOfObjects())).code).toBe('ERR_MANAGER_CLOSED');
    // The connection closed, so the manager says so at once (before the worker's exit event).
    expect(manager.closed).toBe(true);
    // shutdown (by `await using`) of a dead manager resolves.
    await manager.shutdown();
  });
});

test('a crash: every pending and later rejection names the manager and carries the crash error as cause; whenClosed says why', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const toolbox = await manager.Toolbox();
  const pending = rejection(toolbox.never());
  void toolbox.crash().catch(() => undefined);
  const error = await pending;
  expect(error.code).toBe('ERR_MANAGER_CLOSED');
  expect(error.message).toBe('manager KitchenManager is closed: the server worker crashed: boom');
  expect(error.message).not.toContain(manager.managerId);
  expect((error.cause as Error).message).toBe('boom');
  expect((error.cause as Error).stack).toContain('kitchen');
  const later = await rejection(toolbox.echo(1));
  expect(later.code).toBe('ERR_MANAGER_CLOSED');
  expect((later.cause as Error).message).toBe('boom');
  const closed = await manager.whenClosed;
  expect(closed.reason).toBe('the server worker crashed: boom');
  expect((closed.error as Error).message).toBe('boom');
  expect(manager.closed).toBe(true);
});

test('whenClosed resolves with the reason after shutdown()', async () => {
  const manager = await KitchenManager.start({ module: KITCHEN_MODULE, name: 'kitchen' });
  expect(manager.closed).toBe(false);
  await manager.shutdown();
  await expect(manager.whenClosed).resolves.toEqual({ reason: 'the manager was shut down' });
  const error = await rejection(manager.numberOfObjects());
  expect(error.message).toBe('manager kitchen is closed: the manager was shut down');
});

test('a manager made by connect() is closed, and its whenClosed resolves, when its server goes', async () => {
  const manager = await KitchenManager.start({ module: KITCHEN_MODULE, name: 'kitchen' });
  const connected = await KitchenManager.connect(manager.handle());
  expect(connected.closed).toBe(false);
  const toolbox = await connected.Toolbox();
  expect(await toolbox.echo(1)).toBe(1);
  toolbox[Symbol.dispose]();
  expect(await manager.numberOfObjects()).toBe(0);
  await manager.shutdown();
  const closed = await connected.whenClosed;
  expect(closed.reason).toBe('the manager was shut down');
  expect(connected.closed).toBe(true);
});

test('shutdown() settles when the owner’s connection closed while its server worker goes on', async () => {
  const manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const toolbox = await manager.Toolbox();
  // Not a crash: the port closed, the worker still runs (as a disconnect() of a connect()
  // sharing the owner's connection once did).
  connectionFor(manager.managerId)!.close('closed by the test');
  expect(manager.closed).toBe(true);
  expect((await rejection(toolbox.echo(1))).code).toBe('ERR_MANAGER_CLOSED');
  const started = Date.now();
  await manager.shutdown();
  expect(Date.now() - started).toBeLessThan(5_000);
  // Its references went with the connection: nothing is left to leak.
  await manager.shutdown();
});

test('start() with a module that exports another manager class fails, naming options.module', async () => {
  const error = await rejection(
    KitchenManager.start({ module: require.resolve('./fixtures/containers') }),
  );
  expect(error.code).toBe('ERR_START_FAILED');
  expect(error.message).toContain('options.module exports a manager class whose typeids');
  expect(error.message).toContain('Dict, List');
});

test('BaseManager itself has no typeids', () => {
  expect(BaseManager.typeids).toEqual([]);
});
