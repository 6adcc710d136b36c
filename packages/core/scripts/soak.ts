/**
 * The soak: at least 100,000 messages (hostile and honest) to a manager's server worker, then
 * the server's heap after a forced garbage collection next to its heap at the start; then the
 * cross-thread property test with 2,000 sequences.
 *
 *   pnpm soak [--messages=100000] [--cross-thread-runs=2000] [--seed=N] [--max-growth-mb=4]
 *
 * Hostile connections are raw ports to the running server, taken out of what `encode()` makes
 * for another thread (a handle's handoff port): they send fuzzed messages (valid, mutated,
 * garbage, forged ids, tokens and keys; see test/fixtures/fuzz-messages.ts) while honest
 * proxies in this thread check their results. Exits non-zero if an honest result is wrong, a
 * hostile connection got an honest object, the table is not empty after everything is
 * released, the heap grew by more than --max-growth-mb, or the property test failed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode, release, type BaseProxy } from '@managers/core';
import { hostileStepArbitrary } from '../test/fixtures/fuzz-messages';
import { HostileClient, HostileDriver } from '../test/fixtures/hostile';
import { SoakManager } from '../test/fixtures/soak';

const SOAK_MODULE = require.resolve('../test/fixtures/soak');
const HOSTILE_CONNECTIONS = 4;

interface Options {
  messages: number;
  crossThreadRuns: number;
  seed: number;
  maxGrowthMb: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    messages: 100_000,
    crossThreadRuns: 2_000,
    seed: Date.now() % 2 ** 31,
    maxGrowthMb: 4,
  };
  for (const argument of argv) {
    const match = /^--(messages|cross-thread-runs|seed|max-growth-mb)=(\d+(?:\.\d+)?)$/.exec(
      argument,
    );
    if (match === null) {
      console.error(
        `unknown argument ${argument} (usage: soak [--messages=N] [--cross-thread-runs=N] [--seed=N] [--max-growth-mb=N])`,
      );
      process.exit(2);
    }
    const value = Number(match[2]);
    if (match[1] === 'messages') options.messages = value;
    else if (match[1] === 'cross-thread-runs') options.crossThreadRuns = value;
    else if (match[1] === 'seed') options.seed = value;
    else options.maxGrowthMb = value;
  }
  return options;
}

type Method = (...args: unknown[]) => Promise<unknown>;
type Remote = Record<string, Method>;

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;

async function soak(options: Options): Promise<void> {
  // The initializer gets gc() in the server worker (the Heap object calls it).
  await using manager = await SoakManager.start({
    module: SOAK_MODULE,
    initializer: 'exposeHeap',
  });
  const heap = (await manager.Heap()) as unknown as Remote;
  const heapAtStart = (await heap.collect!()) as number;
  console.log(`server heap at start (after gc): ${mb(heapAtStart)}`);

  // Honest objects, used through real proxies in this thread.
  const toolboxes = [
    (await manager.Toolbox()) as unknown as Remote,
    (await manager.Toolbox()) as unknown as Remote,
  ];
  const counts = [0, 0];
  const stack = (await manager.Stack()) as unknown as Remote;
  const stackModel: unknown[] = [];
  const box = (await manager.Holder()) as unknown as Remote;
  await box.set!('t', toolboxes[0]);
  const shared = (await manager.Stack()) as unknown as BaseProxy;
  const idOf = (proxy: unknown) => (proxy as BaseProxy).token.id;
  const honestIds = new Set([...toolboxes, stack, box].map(idOf));
  const entryOf = async (id: number) => (await manager.entries()).find((entry) => entry.id === id);
  const me = Object.keys((await entryOf(idOf(stack)))!.holders)[0]!;
  const expectedHolders = new Map<number, Record<string, number>>([
    [idOf(toolboxes[0]), { [me]: 1, server: 1 }],
    [idOf(toolboxes[1]), { [me]: 1 }],
    [idOf(stack), { [me]: 1 }],
    [idOf(box), { [me]: 1 }],
  ]);

  const driver = new HostileDriver({
    managerId: manager.managerId,
    honestIds: () => [...honestIds, idOf(shared)],
    forbidden: honestIds,
    honestKeys: () => [],
    connect: async (ids = []) => {
      // What any thread given a handle (and a proxy) holds: a funded handoff port.
      const payload = ids.length
        ? { handle: manager.handle(), shared: sharedCopy() }
        : manager.handle();
      const { value, transferList } = encode(payload);
      const port = transferList[0] as MessagePort;
      const envelope = (ids.length ? (value as { handle: unknown }).handle : value) as {
        key: string;
      };
      const key = envelope.key;
      const hostile = new HostileClient(port, key, honestIds);
      hostile.ids.push(...ids);
      return hostile;
    },
  });
  // The shared stack is handed to the first hostile connection (the owner keeps its own).
  let sharedHanded = false;
  const sharedCopy = () => {
    assert.equal(sharedHanded, false);
    sharedHanded = true;
    return shared;
  };
  await driver.open(HOSTILE_CONNECTIONS, [idOf(shared)]);

  const steps = fc.sample(hostileStepArbitrary(HOSTILE_CONNECTIONS), {
    numRuns: 2_000,
    seed: options.seed,
  });
  const honestOps = fc.sample(fc.record({ op: fc.nat(5), value: fc.jsonValue({ maxDepth: 3 }) }), {
    numRuns: 1_000,
    seed: options.seed + 1,
  });
  let honestMessages = 0;
  const hostileShare = Math.ceil(options.messages * 0.8);
  let hostileDone = false;
  const started = Date.now();

  const check = async () => {
    for (let i = 0; i < 2; i++) assert.equal(await toolboxes[i]!.count!(), counts[i]);
    assert.deepEqual(await stack.contents!(), stackModel);
    const entries = await manager.entries();
    for (const [id, holders] of expectedHolders)
      assert.deepEqual(
        entries.find((entry) => entry.id === id)?.holders,
        holders,
        `holders of id ${id}`,
      );
    // The shared stack: the owner's reference stays, whatever the hostile connection does.
    assert.equal(entries.find((entry) => entry.id === idOf(shared))?.holders[me], 1);
    honestMessages += 4;
  };

  const honestRun = async () => {
    for (let index = 0; !hostileDone || honestMessages < options.messages - driver.sent; index++) {
      const { op, value } = honestOps[index % honestOps.length]!;
      if (op < 2) {
        assert.equal(await toolboxes[op]!.inc!(), ++counts[op]);
      } else if (op === 2) {
        const item = `item-${index}`;
        assert.equal(await stack.push!(item), stackModel.push(item));
      } else if (op === 3) {
        assert.deepEqual(await stack.pop!(), stackModel.pop());
      } else if (op === 4) {
        const got = (await box.get!('t')) as BaseProxy;
        assert.equal(got.token.id, idOf(toolboxes[0]));
        release(got);
      } else if (op === 5 && index % 50 === 0) {
        await check();
      } else {
        assert.deepEqual(await toolboxes[1]!.echo!(value), value);
      }
      honestMessages += 1;
    }
  };

  const hostileRun = async () => {
    for (let index = 0; driver.sent < hostileShare; index++) {
      await driver.step(steps[index % steps.length]!);
      if (index % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      // Honest calls keep up (one honest message for four hostile ones): the flood must not
      // simply starve them until it is over.
      while (honestMessages * 4 < driver.sent - 1_000 && !honestFailed)
        await new Promise((resolve) => setTimeout(resolve, 1));
      // Pace the flood with a round trip, and do not keep every replaced connection open.
      if (index % 100 === 0) {
        await manager.numberOfObjects();
        driver.closeRetired();
      }
      if (index % 2_000 === 0 && index > 0)
        console.log(
          `  ${driver.sent} hostile, ${honestMessages} honest messages (${((Date.now() - started) / 1000).toFixed(0)} s)`,
        );
    }
    hostileDone = true;
  };
  let honestFailed = false;
  await Promise.all([
    hostileRun(),
    honestRun().catch((error: unknown) => {
      honestFailed = true;
      throw error;
    }),
  ]);
  await check();
  assert.deepEqual(driver.leaks(), [], 'a hostile connection got a reference to an honest object');
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `messages: ${driver.sent} hostile + ${honestMessages} honest = ${driver.sent + honestMessages} in ${seconds.toFixed(1)} s (seed ${options.seed})`,
  );

  // Everything released: the table keeps only the Heap object.
  driver.close();
  for (const proxy of [...toolboxes, stack, box, shared]) release(proxy);
  let left = await manager.numberOfObjects();
  for (let round = 0; round < 100 && left > 1; round++) {
    await heap.collect!(); // lets the server's finalizers release argument proxies
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = await manager.numberOfObjects();
  }
  if (left !== 1) console.log(await manager.debugInfo({ holders: true }));
  assert.equal(left, 1, 'only the Heap object is left once everything is released');
  const heapAtEnd = (await heap.collect!()) as number;
  const growth = heapAtEnd - heapAtStart;
  console.log(
    `server heap at end (after gc):   ${mb(heapAtEnd)} (${growth >= 0 ? '+' : ''}${mb(growth)})`,
  );
  release(heap);
  assert.equal(await pollEmpty(manager), 0, 'the table is empty at the end');
  assert.ok(
    growth <= options.maxGrowthMb * 2 ** 20,
    `the server heap grew by ${mb(growth)}, more than --max-growth-mb=${options.maxGrowthMb}`,
  );
}

async function pollEmpty(manager: { numberOfObjects(): Promise<number> }): Promise<number> {
  let count = await manager.numberOfObjects();
  for (let round = 0; round < 50 && count > 0; round++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = await manager.numberOfObjects();
  }
  return count;
}

function crossThread(runs: number): void {
  if (runs === 0) return;
  console.log(`\ncross-thread property test, ${runs} sequences:`);
  const root = join(__dirname, '..', '..', '..');
  const result = spawnSync(
    'npx',
    ['jest', '--ci', 'packages/core/test/cross-thread.property.test.ts'],
    { cwd: root, stdio: 'inherit', env: { ...process.env, CROSS_THREAD_RUNS: String(runs) } },
  );
  if (result.status !== 0) throw new Error(`the cross-thread property test failed (${runs} runs)`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await soak(options);
  crossThread(options.crossThreadRuns);
  console.log('\nsoak: passed');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
