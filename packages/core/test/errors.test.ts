/** Errors: hosted errors keep name/message/code/cause, server errors have codes, and nothing breaks the connection. */
import { MessageChannel } from 'node:worker_threads';
import {
  callMethod,
  discard,
  encode,
  postMessage,
  release,
  transfer,
  syncProxy,
  tokenOf,
  withCallOptions,
  type BaseProxy,
} from '@managers/core';
import { KitchenManager } from './fixtures/kitchen';
import { KITCHEN_MODULE, pollUntil, rejection, thrown } from './helpers';

type Kitchen = Awaited<ReturnType<typeof KitchenManager.start>>;
let shared: Kitchen;
beforeAll(async () => {
  shared = await KitchenManager.start({ module: KITCHEN_MODULE });
});
afterAll(async () => {
  await shared?.shutdown();
});

/** One manager for the file; each test makes its own Toolbox and leaves the table empty. */
async function startKitchen() {
  expect(await shared.numberOfObjects()).toBe(0);
  const toolbox = await shared.Toolbox();
  return { manager: shared, toolbox };
}

test('a hosted TypeError arrives with its name, message, remote stack and details', async () => {
  const { manager, toolbox } = await startKitchen();
  const error = await rejection(toolbox.failWithTypeError());
  expect(error.name).toBe('TypeError');
  expect(error.message).toBe('bad type 42');
  expect(error.code).toBe('ERR_REMOTE');
  expect(error.remoteStack).toContain('failWithTypeError');
  expect(error.remoteStack).toContain('kitchen.ts');
  expect(error.details).toEqual({
    typeid: 'Toolbox',
    id: tokenOf(toolbox).id,
    method: 'failWithTypeError',
  });
  expect(await toolbox.echo('still works')).toBe('still works');
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('a custom error class keeps its name, code and cause chain', async () => {
  const { manager, toolbox } = await startKitchen();
  const error = await rejection(toolbox.failWithCause());
  expect(error.name).toBe('CustomError');
  expect(error.message).toBe('outer failure');
  expect(error.code).toBe('E_CUSTOM');
  expect(error.remoteStack).toContain('failWithCause');
  expect(error.details).toMatchObject({ typeid: 'Toolbox', method: 'failWithCause' });
  const middle = error.cause as { name: string; message: string; cause?: unknown };
  expect(middle).toMatchObject({ name: 'RangeError', message: 'middle' });
  expect(middle.cause).toMatchObject({ name: 'Error', message: 'root cause' });
  expect(await toolbox.inc()).toBe(1);
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('an error keeps its other own properties, an AggregateError its errors, a thrown object its fields', async () => {
  const { manager, toolbox } = await startKitchen();
  const system = (await rejection(toolbox.failReading())) as unknown as Record<string, unknown>;
  expect(system).toMatchObject({
    code: 'ENOENT',
    errno: -2,
    syscall: 'open',
    path: '/no/such/file/here',
  });
  const aggregate = await rejection(toolbox.failAll());
  expect(aggregate.name).toBe('AggregateError');
  expect(aggregate.message).toBe('everything failed');
  const errors = (aggregate as unknown as { errors: Record<string, unknown>[] }).errors;
  expect(errors).toHaveLength(2);
  // A function cannot cross: that property alone is left out.
  expect(errors[0]).toMatchObject({ message: 'over quota', limit: 10, used: 12 });
  expect(errors[0]).not.toHaveProperty('retry');
  expect(errors[1]).toMatchObject({ message: 'non-error thrown: just a string' });
  // `errors` that is not a list of errors is a property like the others; a large field stays
  // behind (the error itself must get through).
  const validation = (await rejection(toolbox.failValidation())) as unknown as Record<
    string,
    unknown
  >;
  expect(validation.message).toBe('invalid user');
  expect(validation.errors).toEqual({ email: { message: 'required' } });
  expect(validation).not.toHaveProperty('dump');
  const plainObject = (await rejection(toolbox.throwObject())) as unknown as Record<
    string,
    unknown
  >;
  expect(plainObject.message).toBe("non-error thrown: { code: 42, reason: 'quota exceeded' }");
  expect(plainObject.reason).toBe('quota exceeded');
  expect(await toolbox.inc()).toBe(1);
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test("a rejected call's stack includes the caller's frames (an async stack)", async () => {
  const { manager, toolbox } = await startKitchen();
  async function callerOfTheFailingCall(): Promise<void> {
    await toolbox.failWithTypeError();
  }
  async function outerCaller(): Promise<void> {
    await callerOfTheFailingCall();
  }
  const error = await rejection(outerCaller());
  const stack = (error as { stack?: string }).stack;
  // (jest's source maps drop the word `async` that plain Node prints before these frames)
  expect(stack).toMatch(/at (async )?callerOfTheFailingCall \(.*errors\.test\.ts:\d+:\d+\)/);
  expect(stack).toMatch(/at (async )?outerCaller \(/);
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test("a rejected create's stack includes the caller's frames too", async () => {
  const { manager, toolbox } = await startKitchen();
  async function creatorOfAnUnknownType(): Promise<void> {
    await manager.create('NoSuchType' as 'Toolbox');
  }
  const error = await rejection(creatorOfAnUnknownType());
  expect(error.code).toBe('ERR_UNKNOWN_TYPEID');
  expect((error as { stack?: string }).stack).toMatch(
    /at (async )?creatorOfAnUnknownType \(.*errors\.test\.ts:\d+:\d+\)/,
  );
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('a non-exposed method: ERR_NOT_EXPOSED through callMethod and on the AutoProxy', async () => {
  const { manager, toolbox } = await startKitchen();
  const error = await rejection(callMethod(toolbox, '_hidden'));
  expect(error.name).toBe('ManagerError');
  expect(error.code).toBe('ERR_NOT_EXPOSED');
  expect(error.message).toContain("'_hidden'");
  expect(error.message).toContain("'Toolbox'");
  expect(error.details).toMatchObject({ typeid: 'Toolbox', method: '_hidden' });
  expect('_hidden' in toolbox).toBe(false);
  // Called on the AutoProxy: the same error, not `TypeError: toolbox._hidden is not a function`.
  const direct = await rejection((toolbox as unknown as { _hidden(): Promise<void> })._hidden());
  expect(direct.name).toBe('ManagerError');
  expect(direct.code).toBe('ERR_NOT_EXPOSED');
  expect(direct.message).toMatch(
    /^method '_hidden' of typeid 'Toolbox' is not exposed \(exposed: /,
  );
  // `then` and symbols are never methods: awaiting a proxy gives the proxy.
  expect((toolbox as unknown as Record<string, unknown>).then).toBeUndefined();
  expect((toolbox as unknown as Record<symbol, unknown>)[Symbol('x')]).toBeUndefined();
  expect(await toolbox).toBe(toolbox);
  const missing = await rejection(callMethod(toolbox, 'nonexistent'));
  expect(missing.code).toBe('ERR_NOT_EXPOSED');
  expect(missing.message).toContain("'nonexistent'");
  const reserved = await rejection(callMethod(toolbox, '#nope'));
  expect(reserved.code).toBe('ERR_NOT_EXPOSED');
  expect(await toolbox.echo(3)).toBe(3);
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('an unknown typeid → ERR_UNKNOWN_TYPEID naming it', async () => {
  const { manager, toolbox } = await startKitchen();
  const untyped = manager as unknown as { create(typeid: string): Promise<BaseProxy> };
  const error = await rejection(untyped.create('Nope'));
  expect(error.code).toBe('ERR_UNKNOWN_TYPEID');
  expect(error.message).toContain("'Nope'");
  expect(error.details).toMatchObject({ typeid: 'Nope' });
  expect(await toolbox.echo(1)).toBe(1);
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('an unserializable argument → ERR_UNSERIALIZABLE, and the next call works', async () => {
  const { manager, toolbox } = await startKitchen();
  const error = await rejection(toolbox.echo(() => 2));
  expect(error.code).toBe('ERR_UNSERIALIZABLE');
  expect(error.message).toContain('Toolbox.echo()');
  // With another call in the same tick (one batch), only the bad one fails.
  const [bad, good] = await Promise.allSettled([toolbox.echo(Symbol('s')), toolbox.echo('ok')]);
  expect(bad.status).toBe('rejected');
  expect((bad as PromiseRejectedResult).reason.code).toBe('ERR_UNSERIALIZABLE');
  expect(good).toEqual({ status: 'fulfilled', value: 'ok' });
  expect(await toolbox.echo(2)).toBe(2);
  // Creation arguments too.
  expect((await rejection(manager.Box({ f: () => 1 }))).code).toBe('ERR_UNSERIALIZABLE');
  expect(await manager.numberOfObjects()).toBe(1);
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('an unserializable return value → ERR_UNSERIALIZABLE, and the next call works', async () => {
  const { manager, toolbox } = await startKitchen();
  const error = await rejection(toolbox.returnFunction());
  expect(error.code).toBe('ERR_UNSERIALIZABLE');
  expect(error.message).toContain('could not be sent');
  // (The call's details — typeid, id, method — are not kept for this error: see the report.)
  const [bad, good] = await Promise.allSettled([toolbox.returnFunction(), toolbox.echo('ok')]);
  expect((bad as PromiseRejectedResult).reason.code).toBe('ERR_UNSERIALIZABLE');
  expect(good).toEqual({ status: 'fulfilled', value: 'ok' });
  expect(await toolbox.echo('next')).toBe('next');
  release(toolbox);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('a call on a released proxy → ERR_PROXY_RELEASED without a round trip', async () => {
  const { manager, toolbox } = await startKitchen();
  const other = await manager.Toolbox();
  release(toolbox);
  expect(toolbox.released).toBe(true);
  const error = await rejection(toolbox.echo(1));
  expect(error.code).toBe('ERR_PROXY_RELEASED');
  expect(error.message).toContain("'echo'");
  expect(error.details).toMatchObject({ typeid: 'Toolbox', method: 'echo' });
  // Passing a released proxy as an argument is refused too.
  expect((await rejection(other.echo(toolbox))).code).toBe('ERR_PROXY_RELEASED');
  // Releasing twice is harmless.
  release(toolbox);
  expect(await other.echo(5)).toBe(5);
  release(other);
  expect(await manager.numberOfObjects()).toBe(0);
});

test('sending a proxy whose manager was shut down → ERR_MANAGER_CLOSED naming the manager, not ERR_PROXY_RELEASED', async () => {
  const manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const toolbox = await manager.Toolbox();
  expect(await manager.numberOfObjects()).toBe(1);
  await manager.shutdown();
  expect(toolbox.released).toBe(true);
  let thrown: (Error & { code?: string }) | undefined;
  try {
    encode({ toolbox });
  } catch (error) {
    thrown = error as Error & { code?: string };
  }
  expect(thrown?.code).toBe('ERR_MANAGER_CLOSED');
  expect(thrown?.message).toMatch(/cannot send .*: manager .* is closed/);
  // A proxy released by its holder still says so.
  await using other = await KitchenManager.start({ module: KITCHEN_MODULE });
  const released = await other.Toolbox();
  release(released);
  expect(() => encode({ released })).toThrow(/the proxy was released/);
  expect(await other.numberOfObjects()).toBe(0);
});

test('bad arguments to the handoff helpers and manager methods name the problem; nothing leaks', async () => {
  const { manager, toolbox } = await startKitchen();
  expect(thrown(() => discard({} as never))).toMatchObject({
    code: 'ERR_INVALID_OPTION',
    message: expect.stringContaining('discard(encoded): encoded must be what encode() returned'),
  });
  expect(thrown(() => transfer(5 as never))).toMatchObject({
    code: 'ERR_INVALID_OPTION',
    message: expect.stringContaining('transfer(buffer): buffer must be an ArrayBuffer'),
  });
  expect(thrown(() => transfer({} as never)).code).toBe('ERR_INVALID_OPTION');
  expect(thrown(() => transfer(new Int32Array(new SharedArrayBuffer(8)))).message).toContain(
    'shared memory (a SharedArrayBuffer, or a view of one) is shared with the receiver, never moved',
  );
  expect(thrown(() => postMessage({} as never, 1))).toMatchObject({
    code: 'ERR_INVALID_OPTION',
    message: expect.stringContaining('target must be a Worker, a MessagePort or parentPort'),
  });
  expect(thrown(() => encode({ toolbox }, { tagret: 1 } as never))).toMatchObject({
    code: 'ERR_INVALID_OPTION',
    message: "encode(value, options): unknown option 'tagret' (did you mean 'target'?)",
  });
  // A value structured clone refuses, with a proxy beside it: ERR_UNSERIALIZABLE, and the
  // reference taken for the proxy is given back.
  const { port1, port2 } = new MessageChannel();
  try {
    expect(thrown(() => postMessage(port1, { toolbox, run: () => 1 }))).toMatchObject({
      code: 'ERR_UNSERIALIZABLE',
      message: expect.stringContaining('postMessage(target, value): the value cannot be cloned'),
    });
  } finally {
    port1.close();
    port2.close();
  }
  expect((await rejection(manager.create(5 as unknown as 'Toolbox'))).message).toContain(
    'create(typeid, ...args): typeid must be the string a type was registered under, got 5',
  );
  expect((await rejection(manager.debugInfo({ holder: true } as never))).message).toContain(
    "debugInfo(options): unknown option 'holder' (did you mean 'holders'?)",
  );
  expect(thrown(() => manager.forwardTrace('yes' as never)).message).toContain(
    'forwardTrace(enabled): enabled must be a boolean',
  );
  expect(thrown(() => KitchenManager.register('__proto__', { callable: Object })).code).toBe(
    'ERR_INVALID_OPTION',
  );
  // A synchronous proxy's name that is not exposed: ERR_NOT_EXPOSED, as on the AutoProxy.
  expect(
    thrown(() => (syncProxy(toolbox) as unknown as { secret(): void }).secret()),
  ).toMatchObject({ code: 'ERR_NOT_EXPOSED', message: expect.stringContaining("method 'secret'") });
  expect(await toolbox.echo('still here')).toBe('still here');
  release(toolbox);
  // The reference taken for the value that could not be posted goes when its port's close
  // reaches the server (R4), a moment later.
  expect(await pollUntil(() => manager.numberOfObjects(), 0, 2000)).toBe(0);
});

describe('timeout and AbortSignal', () => {
  test('withCallOptions timeout → ERR_TIMEOUT; the next call gets its own answer, not the late one', async () => {
    const { manager, toolbox } = await startKitchen();
    const impatient = withCallOptions(toolbox, { timeout: 50 });
    const started = Date.now();
    const error = await rejection(impatient.slow(600, 'late'));
    // Rejected by the timeout, well before the reply (which comes at 600 ms).
    expect(Date.now() - started).toBeLessThan(500);
    expect(error.code).toBe('ERR_TIMEOUT');
    expect(error.message).toContain('timed out after 50 ms');
    expect(error.details).toMatchObject({ method: 'slow', timeout: 50 });
    expect(await toolbox.echo('next')).toBe('next');
    expect(await toolbox.slow(650, 'after the late reply')).toBe('after the late reply');
    expect(await impatient.echo('fast enough')).toBe('fast enough');
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('the start() timeout option applies to every call', async () => {
    await using manager = await KitchenManager.start({ module: KITCHEN_MODULE, timeout: 50 });
    const toolbox = await manager.Toolbox();
    expect((await rejection(toolbox.slow(150, 'x'))).code).toBe('ERR_TIMEOUT');
    expect(await toolbox.echo(1)).toBe(1);
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('AbortSignal → ERR_ABORTED; the next call gets its own answer', async () => {
    const { manager, toolbox } = await startKitchen();
    const controller = new AbortController();
    const pending = rejection(
      withCallOptions(toolbox, { signal: controller.signal }).slow(150, 'late'),
    );
    setTimeout(() => controller.abort(new Error('user gave up')), 20);
    const error = await pending;
    expect(error.code).toBe('ERR_ABORTED');
    expect(error.cause).toMatchObject({ message: 'user gave up' });
    expect(await toolbox.echo('next')).toBe('next');
    expect(await toolbox.slow(200, 'own answer')).toBe('own answer');
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('an already-aborted signal rejects without sending', async () => {
    const { manager, toolbox } = await startKitchen();
    const aborted = withCallOptions(toolbox, { signal: AbortSignal.abort() });
    const error = await rejection(aborted.inc());
    expect(error.code).toBe('ERR_ABORTED');
    expect(error.message).toContain('before it was sent');
    expect(await toolbox.count()).toBe(0);
    expect(await toolbox.inc()).toBe(1);
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('a timed-out synchronous call gives back the object its late reply carries, with no later call', async () => {
    const { manager, toolbox } = await startKitchen();
    let code: unknown;
    try {
      syncProxy(toolbox, { timeout: 30 }).slowBox(150);
    } catch (error) {
      code = (error as { code?: unknown }).code;
    }
    expect(code).toBe('ERR_TIMEOUT');
    // No synchronous call follows: the event loop reads the late reply and releases its Box.
    const disposed = async () =>
      (await manager.trace()).some((event) => event.op === 'dispose' && event.typeid === 'Box');
    expect(await pollUntil(disposed, true, 2000)).toBe(true);
    expect(await manager.numberOfObjects()).toBe(1);
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('timeout Infinity, or past what setTimeout holds (2^31 ms), means no timeout', async () => {
    const { manager, toolbox } = await startKitchen();
    expect(await withCallOptions(toolbox, { timeout: Infinity }).slow(60, 'in time')).toBe(
      'in time',
    );
    expect(await withCallOptions(toolbox, { timeout: 2 ** 31 }).slow(60, 'in time')).toBe(
      'in time',
    );
    expect(syncProxy(toolbox, { timeout: Infinity }).slow(30, 'sync')).toBe('sync');
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
    await using patient = await KitchenManager.start({
      module: KITCHEN_MODULE,
      timeout: Infinity,
      startTimeout: Infinity,
    });
    const other = await patient.Toolbox();
    expect(await other.slow(60, 'patient')).toBe('patient');
    release(other);
    expect(await patient.numberOfObjects()).toBe(0);
  });

  test('call options are checked, naming the option: withCallOptions, syncProxy, callMethod', async () => {
    const { manager, toolbox } = await startKitchen();
    for (const [options, option, text] of [
      [{ timeout: NaN }, 'timeout', 'options.timeout must be a non-negative number'],
      [{ timeout: -1 }, 'timeout', 'got -1'],
      [{ timeout: '10' }, 'timeout', "got '10'"],
      [{ timout: 10 }, 'options', "unknown option 'timout' (did you mean 'timeout'?)"],
      [{ signal: {} }, 'signal', 'options.signal must be an AbortSignal'],
      [false, 'options', 'options must be an object'],
    ] as const) {
      for (const error of [
        thrown(() => withCallOptions(toolbox, options as never)),
        thrown(() => syncProxy(toolbox, options as never)),
        await rejection(callMethod(toolbox, 'echo', [1], options as never)),
      ]) {
        expect(error.code).toBe('ERR_INVALID_OPTION');
        expect(error.message).toContain(text);
        expect(error.details?.option).toBe(option);
      }
    }
    // The proxy's own callMethod checks them too.
    const error = await rejection(toolbox.callMethod('echo', [1], { timout: 5 } as never));
    expect(error.message).toContain("unknown option 'timout' (did you mean 'timeout'?)");
    // null is "not given": the manager's default timeout, no signal.
    expect(await withCallOptions(toolbox, { timeout: null, signal: null } as never).echo(2)).toBe(
      2,
    );
    expect(syncProxy(toolbox, { timeout: null } as never).echo(3)).toBe(3);
    // Nothing was sent: the proxy still works.
    expect(await toolbox.echo('still here')).toBe('still here');
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('a timed-out proxy-returning call does not leak the object made for it', async () => {
    const { manager, toolbox } = await startKitchen();
    expect(await manager.numberOfObjects()).toBe(1);
    const error = await rejection(withCallOptions(toolbox, { timeout: 30 }).slowBox(120));
    expect(error.code).toBe('ERR_TIMEOUT');
    // The late reply arrives with a reference the server took for this thread: it is given back.
    const disposed = async () =>
      (await manager.trace()).some((event) => event.op === 'dispose' && event.typeid === 'Box');
    expect(await pollUntil(disposed, true, 2000)).toBe(true);
    const boxEvents = (await manager.trace()).filter((event) => event.typeid === 'Box');
    expect(boxEvents.map((event) => event.op)).toEqual(['create', 'decref', 'dispose']);
    expect(await manager.numberOfObjects()).toBe(1);
    // A proxy-returning call that is in time works.
    const box = await toolbox.slowBox(1);
    expect(tokenOf(box).typeid).toBe('Box');
    release(box);
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });
});
