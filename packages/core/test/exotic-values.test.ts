/**
 * Values an application may hand the library in unusual states: frozen received values and
 * encoded results, getters, non-objects. Each behaves as the ordinary value does.
 */
import {
  decode,
  discard,
  encode,
  keepBorrowed,
  release,
  type BaseProxy,
  type Encoded,
} from '@managers/core';
import { Agent } from './fixtures/agent';
import { KitchenManager } from './fixtures/kitchen';
import { MagManager } from './fixtures/magnifier';
import { KITCHEN_MODULE, MAGNIFIER_MODULE, pollUntil, roundTrip } from './helpers';

/** Freezes `value` and everything reachable from it, its symbol-keyed properties included. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value))
      deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

test('a getter beside a proxy is read once, and the value read is the one sent', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const toolbox = await manager.Toolbox();
  let reads = 0;
  const value = {
    toolbox,
    get sequence() {
      return ++reads;
    },
  };
  const encoded = encode(value);
  const sent = (encoded.value as { sequence: number }).sequence;
  const decoded = decode<{ toolbox: BaseProxy }>(
    await roundTrip(encoded.value, encoded.transferList),
  );
  release(decoded.toolbox);
  release(toolbox);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  expect({ sent, reads }).toEqual({ sent: 1, reads: 1 });
});

test('keepBorrowed() of something that is not a proxy does nothing', () => {
  expect(() => keepBorrowed('not a proxy' as unknown as object)).not.toThrow();
  expect(() => keepBorrowed(42 as unknown as object)).not.toThrow();
  expect(() => keepBorrowed({})).not.toThrow();
});

test('a frozen received value decoded twice is refused at once, and the first proxy works without delay', async () => {
  await using manager = await KitchenManager.start({ module: KITCHEN_MODULE });
  const toolbox = await manager.Toolbox();
  const encoded = encode({ toolbox });
  // A received value the application froze (a frozen store, a deep Object.freeze).
  const received = deepFreeze(await roundTrip(encoded.value, encoded.transferList));
  const first = decode<{ toolbox: BaseProxy & { echo(x: number): Promise<number> } }>(received);
  let refused: unknown;
  try {
    // Were it not refused, what it made is released, so that the counts below stay exact.
    release(decode<{ toolbox: BaseProxy }>(received).toolbox);
  } catch (error) {
    refused = error;
  }
  const started = Date.now();
  expect(await first.toolbox.echo(1)).toBe(1);
  const callMs = Date.now() - started;
  release(first.toolbox);
  release(toolbox);
  expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
  expect({
    code: (refused as { code?: string } | undefined)?.code,
    slow: callMs > 1000,
  }).toEqual({ code: 'ERR_BAD_MESSAGE', slow: false });
});

describe('discard() of a frozen encoded value with a directed handoff recalls it', () => {
  for (const [name, freeze] of [
    ['frozen', <T>(value: T) => Object.freeze(value)],
    [
      'frozen with the arrays it holds',
      <T>(value: T) => {
        for (const key of Reflect.ownKeys(value as object)) {
          const item = (value as Record<PropertyKey, unknown>)[key];
          if (Array.isArray(item)) Object.freeze(item);
        }
        return Object.freeze(value);
      },
    ],
  ] as const) {
    test(name, async () => {
      await using manager = await MagManager.start({ module: MAGNIFIER_MODULE });
      await using agent = new Agent();
      const mag = await manager.Magnifier(3);
      const goesDirected = () => {
        const encoded = encode({ mag }, { target: agent.worker });
        discard(encoded);
        return encoded.transferList.length === 0;
      };
      expect(goesDirected()).toBe(false);
      expect(await agent.holdDirected(mag)).toBe(1);
      expect(await pollUntil(async () => goesDirected(), true)).toBe(true);
      const frozen: Encoded = freeze(encode({ mag }, { target: agent.worker }));
      expect(frozen.transferList).toHaveLength(0);
      let threw: unknown;
      try {
        discard(frozen);
        discard(frozen); // a second discard does no harm
      } catch (error) {
        threw = error;
      }
      await agent.run({ cmd: 'release', slot: 0 });
      // The recalled handoff is gone: main's reference only.
      const refcount = await pollUntil(async () => (await manager.entries())[0]?.refcount, 1);
      mag[Symbol.dispose]();
      expect(await pollUntil(() => manager.numberOfObjects(), 0)).toBe(0);
      expect({ threw, refcount }).toEqual({ threw: undefined, refcount: 1 });
    });
  }
});
