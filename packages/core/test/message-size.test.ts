/**
 * The `maxMessageSize` start() option: arguments over the limit are refused before they are
 * sent, results over it become error replies, and the connection goes on working.
 */
import { DEFAULT_MAX_MESSAGE_SIZE, release, transfer } from '@managers/core';
import { isLargerThan } from '../src/message-size';
import { SoakManager } from './fixtures/soak';
import { rejection } from './helpers';

const SOAK_MODULE = require.resolve('./fixtures/soak');
const LIMIT = 4096;

describe('the estimate', () => {
  test('strings count 2 bytes a character, buffers their byteLength, walking nested values', () => {
    expect(isLargerThan(['x'.repeat(2048)], LIMIT)).toBe(false);
    expect(isLargerThan(['x'.repeat(2049)], LIMIT)).toBe(true);
    expect(isLargerThan([1, true, null, undefined, 2n], LIMIT)).toBe(false);
    expect(isLargerThan([new Uint8Array(LIMIT + 1)], LIMIT)).toBe(true);
    expect(isLargerThan([new ArrayBuffer(LIMIT + 1)], LIMIT)).toBe(true);
    expect(isLargerThan([{ a: { b: ['x'.repeat(3000)] } }], LIMIT)).toBe(true);
    expect(isLargerThan([new Map([['k', new Set(['x'.repeat(3000)])]])], LIMIT)).toBe(true);
    expect(isLargerThan([Array.from({ length: 100 }, () => 'x'.repeat(30))], LIMIT)).toBe(true);
    expect(isLargerThan([{ small: 'x'.repeat(100) }, [1, 2, 3]], LIMIT)).toBe(false);
  });

  test('buffers moved with transfer() and shared memory are not counted (they are not copied)', () => {
    expect(isLargerThan([transfer(new Uint8Array(LIMIT * 2))], LIMIT)).toBe(false);
    expect(isLargerThan([{ moved: transfer(new ArrayBuffer(LIMIT * 2)) }], LIMIT)).toBe(false);
    const view = new Uint8Array(new ArrayBuffer(LIMIT * 2));
    transfer(view.buffer);
    expect(isLargerThan([view], LIMIT)).toBe(false);
    expect(isLargerThan([new Uint8Array(new SharedArrayBuffer(LIMIT * 2))], LIMIT)).toBe(false);
  });

  test('a cycle is walked once', () => {
    const cyclic: Record<string, unknown> = { text: 'x'.repeat(100) };
    cyclic.self = cyclic;
    cyclic.list = [cyclic, cyclic];
    expect(isLargerThan([cyclic], LIMIT)).toBe(false);
  });
});

describe('maxMessageSize', () => {
  let manager: Awaited<ReturnType<typeof SoakManager.start>>;
  beforeAll(async () => {
    manager = await SoakManager.start({ module: SOAK_MODULE, maxMessageSize: LIMIT });
  });
  afterAll(async () => {
    await manager?.shutdown();
  });

  test('a call whose arguments are larger rejects with ERR_MESSAGE_TOO_LARGE, naming the limit and the option', async () => {
    const toolbox = await manager.Toolbox();
    for (const argument of [
      'x'.repeat(LIMIT),
      new Uint8Array(LIMIT + 1),
      { nested: ['x'.repeat(LIMIT)] },
      new Map([[1, 'x'.repeat(LIMIT)]]),
    ]) {
      const error = await rejection(toolbox.echo(argument));
      expect(error.name).toBe('ManagerError');
      expect(error.code).toBe('ERR_MESSAGE_TOO_LARGE');
      expect(error.message).toMatch(
        /^the arguments of Toolbox\.echo\(\) are larger than maxMessageSize \(4096 bytes\)/,
      );
      expect(error.message).toContain('start() option maxMessageSize');
      expect(error.details).toMatchObject({
        typeid: 'Toolbox',
        method: 'echo',
        maxMessageSize: LIMIT,
      });
    }
    // Nothing was sent: the connection works, and the hosted counter saw no call.
    expect(await toolbox.echo('x'.repeat(100))).toBe('x'.repeat(100));
    expect(await toolbox.inc()).toBe(1);
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('a create whose arguments are larger rejects, and hosts nothing', async () => {
    const create = manager.create.bind(manager) as (
      typeid: string,
      ...args: unknown[]
    ) => Promise<unknown>;
    const error = await rejection(create('Toolbox', 'x'.repeat(LIMIT)));
    expect(error.code).toBe('ERR_MESSAGE_TOO_LARGE');
    expect(error.message).toMatch(
      /^the arguments of create 'Toolbox' are larger than maxMessageSize/,
    );
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('a result larger than the limit is an error reply, and the next call works', async () => {
    const maker = await manager.Maker();
    for (const result of [maker.text(LIMIT), maker.bytes(LIMIT + 1), maker.nested(10, 300)]) {
      const error = await rejection(result);
      expect(error.code).toBe('ERR_MESSAGE_TOO_LARGE');
      expect(error.message).toMatch(
        /^the result of Maker\.\w+\(\) is larger than maxMessageSize \(4096 bytes\)/,
      );
      expect(error.details).toMatchObject({ typeid: 'Maker', maxMessageSize: LIMIT });
    }
    expect(await maker.text(10)).toBe('x'.repeat(10));
    expect((await maker.nested(2, 3)).items).toEqual(['yyy', 'yyy']);
    release(maker);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('a buffer larger than the limit passes when it is moved with transfer()', async () => {
    const maker = await manager.Maker();
    expect(await maker.byteLength(transfer(new Uint8Array(LIMIT * 4)))).toBe(LIMIT * 4);
    expect((await rejection(maker.byteLength(new Uint8Array(LIMIT * 4)))).code).toBe(
      'ERR_MESSAGE_TOO_LARGE',
    );
    release(maker);
    expect(await manager.numberOfObjects()).toBe(0);
  });

  test('values just under the limit pass both ways', async () => {
    const toolbox = await manager.Toolbox();
    const text = 'z'.repeat(LIMIT / 2 - 8);
    expect(await toolbox.echo(text)).toBe(text);
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });
});

describe('the option', () => {
  test.each([0, -1, 1.5, 'big', Number.NaN])(
    'maxMessageSize %p is refused with a message naming the option',
    async (value) => {
      const error = await rejection(
        SoakManager.start({ module: SOAK_MODULE, maxMessageSize: value as number }),
      );
      expect(error.code).toBe('ERR_INVALID_OPTION');
      expect(error.message).toContain('options.maxMessageSize');
      expect(error.details).toMatchObject({ option: 'maxMessageSize' });
    },
  );

  test('the default is 64 MiB: a 1 MiB argument and result pass', async () => {
    expect(DEFAULT_MAX_MESSAGE_SIZE).toBe(64 * 1024 * 1024);
    await using manager = await SoakManager.start({ module: SOAK_MODULE });
    const maker = await manager.Maker();
    expect((await maker.text(1 << 20)).length).toBe(1 << 20);
    const toolbox = await manager.Toolbox();
    expect(((await toolbox.echo(new Uint8Array(1 << 20))) as Uint8Array).byteLength).toBe(1 << 20);
    release(maker);
    release(toolbox);
    expect(await manager.numberOfObjects()).toBe(0);
  });
});
