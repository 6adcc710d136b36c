import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import { release } from '@managers/core';
import { typeScriptExecArgv } from '@managers/piscina';
import {
  installComlinkTransferHandler,
  uninstallComlinkTransferHandler,
} from '@managers/piscina/comlink';
import { startManager } from './fixtures/managers';
import type { ComlinkApi } from './fixtures/comlink-worker';
import { holdersBecome, holdersOf, tableBecomesEmpty, threadOf } from './helpers';

function startComlinkWorker(): {
  worker: Worker;
  remote: Comlink.Remote<ComlinkApi>;
} & AsyncDisposable {
  const worker = new Worker(join(__dirname, 'fixtures', 'comlink-worker.ts'), {
    execArgv: typeScriptExecArgv(),
  });
  const remote = Comlink.wrap<ComlinkApi>(nodeEndpoint(worker));
  return {
    worker,
    remote,
    async [Symbol.asyncDispose]() {
      remote[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}

describe('the Comlink transfer handler', () => {
  beforeEach(() => installComlinkTransferHandler());
  afterEach(() => uninstallComlinkTransferHandler());

  test('a proxy passed through a Comlink call is handed off: the worker talks straight to the server', async () => {
    await using manager = await startManager();
    await using second = startComlinkWorker();
    const mag = await manager.Magnifier(3);
    const id = mag.token.id;
    expect(await second.remote.hold(mag as never, 2)).toBe(6);
    const thread = await threadOf(manager, id);
    expect(await holdersOf(manager, id)).toEqual({ main: 1, [thread]: 1 });
    const handoffs = (await manager.trace()).filter(
      (event) => event.op === 'handoff' && event.id === id,
    );
    expect(handoffs).toHaveLength(1);
    expect(handoffs[0]!.holder).toMatch(/^handoff:main>/);
    // Not a relay: the main thread's proxy can go, the worker's keeps working on its own.
    release(mag);
    await holdersBecome(manager, id, { [thread]: 1 });
    expect(await second.remote.scaleHeld(5)).toBe(15);
    await second.remote.releaseHeld();
    await tableBecomesEmpty(manager);
  });

  test('a proxy returned by a Comlink call arrives as a manager proxy, counted once', async () => {
    await using manager = await startManager();
    await using second = startComlinkWorker();
    const mag = (await second.remote.create(manager.handle() as never, 4)) as unknown as {
      scale(x: number): Promise<number>;
      token: { id: number };
    };
    expect(await mag.scale(2)).toBe(8);
    await holdersBecome(manager, mag.token.id, { main: 1 });
    release(mag);
    await tableBecomesEmpty(manager);
  });

  test('without the handler, Comlink cannot send a proxy at all', async () => {
    uninstallComlinkTransferHandler();
    await using manager = await startManager();
    await using second = startComlinkWorker();
    const mag = await manager.Magnifier(3);
    // Comlink posts the proxy as it is: structured clone fails, and @managers/core says why.
    await expect(second.remote.hold(mag as never, 2)).rejects.toMatchObject({
      name: 'ManagerError',
      code: 'ERR_PROXY_NOT_ENCODED',
      cause: { name: 'DataCloneError' },
    });
    release(mag);
    await tableBecomesEmpty(manager);
  });
});

test('without comlink installed, the subpath loads and installing the handler says what to install', () => {
  jest.isolateModules(() => {
    jest.doMock('comlink', () => {
      throw new Error("Cannot find module 'comlink'");
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const subpath =
      require('@managers/piscina/comlink') as typeof import('@managers/piscina/comlink');
    let thrown: (Error & { code?: string }) | undefined;
    try {
      subpath.installComlinkTransferHandler();
    } catch (error) {
      thrown = error as Error & { code?: string };
    }
    expect(thrown?.code).toBe('ERR_INVALID_OPTION');
    expect(thrown?.message).toContain("needs the 'comlink' package");
    expect(thrown?.message).toContain('npm install comlink');
    // A Comlink module passed in is used as it is.
    const transferHandlers = new Map();
    subpath.installComlinkTransferHandler({ transferHandlers });
    expect(transferHandlers.has(subpath.COMLINK_HANDLER_NAME)).toBe(true);
    jest.dontMock('comlink');
  });
});
