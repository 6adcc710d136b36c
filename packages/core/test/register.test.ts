/** BaseManager.register(): option validation, defaults, custom proxy types, callable: null. */
import { BaseManager, BaseProxy, release, tokenOf } from '@managers/core';
import { Counter, CounterProxy, KitchenManager, Toolbox } from './fixtures/kitchen';
import { KITCHEN_MODULE, rejection } from './helpers';

type Untyped = { register(typeid: unknown, options?: unknown): unknown };
const untypedBase = BaseManager as unknown as Untyped;

function registerError(typeid: unknown, options?: unknown) {
  try {
    untypedBase.register(typeid, options);
  } catch (error) {
    return error as {
      name: string;
      code: string;
      message: string;
      details: Record<string, unknown>;
    };
  }
  throw new Error('register() did not throw');
}

describe('register() validates its options', () => {
  test.each([
    ['typeid empty', '', {}, 'typeid', /typeid must be a non-empty string/],
    ['typeid not a string', 42, {}, 'typeid', /typeid must be a non-empty string, got 42/],
    ['typeid reserved', 'shutdown', {}, 'typeid', /typeid 'shutdown' is reserved/],
    ['callable not a function', 'X', { callable: 42 }, 'callable', /options\.callable is invalid/],
    ['exposed not an array', 'X', { exposed: 'scale' }, 'exposed', /options\.exposed is invalid/],
    ['exposed with a number', 'X', { exposed: ['a', 1] }, 'exposed', /options\.exposed is invalid/],
    [
      'methodToTypeid non-string value',
      'X',
      { methodToTypeid: { spawn: 1 } },
      'methodToTypeid',
      /options\.methodToTypeid is invalid/,
    ],
    [
      'proxytype not a BaseProxy subclass',
      'X',
      { proxytype: class NotAProxy {} },
      'proxytype',
      /options\.proxytype is invalid.*subclass of BaseProxy/,
    ],
    [
      'createMethod not boolean',
      'X',
      { createMethod: 'yes' },
      'createMethod',
      /options\.createMethod/,
    ],
    ['unknown option key', 'X', { callabel: Toolbox }, 'options', /callabel/],
  ])('%s → ERR_INVALID_OPTION naming the option', (_what, typeid, options, option, message) => {
    const error = registerError(typeid, options);
    expect(error.name).toBe('ManagerError');
    expect(error.code).toBe('ERR_INVALID_OPTION');
    expect(error.message).toMatch(message);
    expect(error.details.option).toBe(option);
  });

  test('a failed register() leaves the receiver unchanged, a good one returns a new class', () => {
    const before = KitchenManager.typeids;
    expect(() =>
      (KitchenManager as unknown as Untyped).register('Other', { callable: 'nope' }),
    ).toThrow(/options\.callable/);
    expect(KitchenManager.typeids).toEqual(before);
    const Extended = KitchenManager.register('Extra', { callable: Counter });
    expect(Extended.typeids).toEqual([...before, 'Extra']);
    expect(KitchenManager.typeids).toEqual(before);
    expect('Extra' in KitchenManager.prototype).toBe(false);
  });

  test('methodToTypeid naming an unregistered typeid → start() rejects ERR_UNKNOWN_TYPEID', async () => {
    const Broken = BaseManager.register('A', {
      callable: Counter,
      methodToTypeid: { increment: 'Missing' },
    });
    const error = await rejection(Broken.start({ module: KITCHEN_MODULE }));
    expect(error.name).toBe('ManagerError');
    expect(error.code).toBe('ERR_UNKNOWN_TYPEID');
    expect(error.message).toContain("'Missing'");
    expect(error.message).toContain('methodToTypeid.increment');
  });
});

describe('registrations at work', () => {
  test('exposed defaults to the public methods, plus the methodToTypeid methods', async () => {
    await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
    const toolbox = await manager.Toolbox();
    const exposed = tokenOf(toolbox).exposed;
    expect(exposed).toEqual(
      expect.arrayContaining(['echo', 'inc', 'count', 'slow', 'slowBox', 'failWithTypeError']),
    );
    expect(exposed).not.toContain('_hidden');
    expect(exposed).not.toContain('constructor');
    expect(exposed.some((name) => name.startsWith('_') || name.startsWith('#'))).toBe(false);
    expect(tokenOf(toolbox).methodToTypeid).toEqual({ slowBox: 'Box' });
    // The Thenable's `then` is never exposed: a proxy must not look like a promise.
    const thenable = await manager.Thenable();
    expect(tokenOf(thenable).exposed).toEqual(['value']);
    release(toolbox);
    release(thenable);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('exportName names the manager class; a class with other registrations is refused', async () => {
    {
      await using manager = await KitchenManager.start({
        module: KITCHEN_MODULE,
        exportName: 'KitchenManager',
      });
      const toolbox = await manager.Toolbox();
      expect(await toolbox.echo('x')).toBe('x');
      release(toolbox);
      expect(await manager.numberOfObjects()).toBe(0);
    }
    const Other = BaseManager.register('Toolbox', { callable: Toolbox }).register('Box', {
      callable: null,
    });
    const error = await Other.start({ module: KITCHEN_MODULE, exportName: 'KitchenManager' }).then(
      () => undefined,
      (failure: { code?: string; message?: string }) => failure,
    );
    expect(error?.code).toBe('ERR_START_FAILED');
    expect(error?.message).toContain("options.exportName 'KitchenManager'");
  });

  test('a custom proxytype is used for its typeid', async () => {
    await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
    const counter = await manager.Counter();
    expect(counter).toBeInstanceOf(CounterProxy);
    expect(counter).toBeInstanceOf(BaseProxy);
    expect(String(counter)).toBe(
      `<CounterProxy object, typeid 'Counter', id ${tokenOf(counter).id}>`,
    );
    expect(await counter.increment()).toBe(1);
    expect(await counter.increment()).toBe(2);
    counter[Symbol.dispose]();
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('callable: null hosts the single creation argument; 0 or 2 arguments are refused', async () => {
    await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
    const untyped = manager as unknown as {
      create(typeid: string, ...args: unknown[]): Promise<BaseProxy>;
    };
    const box = await manager.Box({ a: 1, list: [1, 2] });
    expect(tokenOf(box).typeid).toBe('Box');
    expect(await manager.entries()).toEqual([
      expect.objectContaining({ typeid: 'Box', refcount: 1, repr: '{ a: 1, list: [ 1, 2 ] }' }),
    ]);
    const viaCreate = await untyped.create('Box', new Map([['k', 1]]));
    expect(tokenOf(viaCreate).typeid).toBe('Box');
    expect(await manager.numberOfObjects()).toBe(2);

    for (const args of [[], [{}, {}]]) {
      const error = await rejection(untyped.create('Box', ...args));
      expect(error.code).toBe('ERR_INVALID_OPTION');
      expect(error.message).toContain(`exactly one argument`);
      expect(error.message).toContain(`(got ${args.length})`);
      expect(error.details).toMatchObject({ typeid: 'Box' });
    }
    // A primitive cannot be hosted.
    const primitive = await rejection(untyped.create('Box', 5));
    expect(primitive.code).toBe('ERR_INVALID_OPTION');
    expect(primitive.message).toContain('must be an object');

    release(box);
    release(viaCreate);
    expect(await manager.numberOfObjects()).toBe(0);
  });
});
