/**
 * Model-based test of refcounts across threads: random sequences over three worker threads
 * of create, call, send a proxy to another thread, forward it between workers, release, drop
 * for GC, nest into a map, remove from the map, terminate a worker. After every sequence each
 * object's refcount equals its live proxies plus the references held by the server, nothing
 * still referenced was disposed, and once everything is released the table is empty.
 */
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { release, tokenOf, type BaseProxy } from '@managers/core';
import { ContainerManager } from './fixtures/containers';
import { Agent } from './fixtures/agent';
import { collectUntil } from './helpers';

type Kind = 'List' | 'Dict';
interface ModelObject {
  readonly id: number;
  readonly kind: Kind;
  /** Proxies the main thread holds. */
  main: BaseProxy[];
  /** References the workers hold: `agent:slot`. */
  slots: Set<string>;
}

const OPS = [
  'create',
  'create',
  'call',
  'send',
  'send',
  'forward',
  'release',
  'drop',
  'nest',
  'unnest',
  'terminate',
] as const;
const AGENTS = 3;

/** How many random sequences (CROSS_THREAD_RUNS; the soak script runs 2,000). */
const RUNS = Number(process.env.CROSS_THREAD_RUNS ?? 200);
// About 1 s a sequence on a loaded 2-core machine (2,000 took 35 min): 10 minutes, or more.
jest.setTimeout(Math.max(600_000, RUNS * 2_500));
/**
 * How long one step may take (an operation, the check, the clean-up) before the sequence fails
 * naming it: a step that never ends then reads as which step of which sequence, not as the
 * whole test's timeout.
 */
const STEP_DEADLINE_MS = 60_000;
/** How long the table may take to reach the counts the model expects (it takes milliseconds). */
const SETTLE_MS = 15_000;

test(`refcounts stay exact across threads (${RUNS} random sequences)`, async () => {
  await using manager = await ContainerManager.start({
    module: require.resolve('./fixtures/containers'),
  });
  const agents: Agent[] = [];
  try {
    for (let i = 0; i < AGENTS; i++) agents.push(new Agent());
    const action = fc.record({ op: fc.constantFrom(...OPS), a: fc.nat(1000), b: fc.nat(1000) });
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 2, maxLength: 12 }), async (actions) => {
        const objects: ModelObject[] = [];
        /** dict id → (key → list id) */
        const nested = new Map<number, Map<string, number>>();
        const alive = () =>
          objects.filter((object) => object.main.length > 0 || object.slots.size > 0);
        const pick = <T>(items: T[], n: number): T | undefined =>
          items.length ? items[n % items.length] : undefined;

        /** One operation of the sequence, applied to the threads and to the model. */
        const step = async (op: (typeof OPS)[number], a: number, b: number): Promise<void> => {
          switch (op) {
            case 'create':
              // Made in a helper: no register of this suspended function may keep the proxy
              // reachable, or a later 'drop' could never be collected.
              objects.push(await createObject(manager, a % 2 === 0 ? 'List' : 'Dict'));
              break;
            case 'call': {
              const object = pick(alive(), a);
              if (object === undefined) break;
              const method = object.kind === 'List' ? 'length' : 'keys';
              if (object.main.length) {
                await (object.main[0] as unknown as Record<string, () => Promise<unknown>>)[
                  method
                ]!();
              } else {
                const [agent, slot] = [...object.slots]
                  [b % object.slots.size]!.split(':')
                  .map(Number);
                await agents[agent!]!.run({ cmd: 'call', slot, method, args: [] });
              }
              break;
            }
            case 'send': {
              const object = pick(
                objects.filter((item) => item.main.length > 0),
                a,
              );
              if (object === undefined) break;
              const agent = b % AGENTS;
              // Half of them as postMessage(worker, …) sends: directed once the worker is known.
              const slots = await (b & 2
                ? agents[agent]!.holdDirected(object.main[0]!)
                : agents[agent]!.hold(object.main[0]!));
              object.slots.add(`${agent}:${slots - 1}`);
              break;
            }
            case 'forward': {
              const object = pick(
                objects.filter((item) => item.slots.size > 0),
                a,
              );
              if (object === undefined) break;
              const [from, slot] = [...object.slots][b % object.slots.size]!.split(':').map(Number);
              const to = (from! + 1 + (b % (AGENTS - 1))) % AGENTS;
              const { port1, port2 } = new MessageChannel();
              const [slots] = await Promise.all([
                agents[to]!.run({ cmd: 'receive', port: port2 }, [port2]),
                agents[from!]!.run({ cmd: 'forward', slot, port: port1 }, [port1]),
              ]);
              object.slots.add(`${to}:${(slots as number) - 1}`);
              break;
            }
            case 'release': {
              const object = pick(alive(), a);
              if (object === undefined) break;
              if (object.main.length && (b % 2 === 0 || object.slots.size === 0)) {
                release(object.main.pop()!);
              } else {
                const key = [...object.slots][b % object.slots.size]!;
                const [agent, slot] = key.split(':').map(Number);
                await agents[agent!]!.run({ cmd: 'release', slot });
                object.slots.delete(key);
              }
              break;
            }
            case 'drop':
              // Forget a main-thread proxy without releasing it: the FinalizationRegistry must.
              // (In a helper, so no register of this suspended function keeps it.)
              dropOne(
                pick(
                  objects.filter((item) => item.main.length > 0),
                  a,
                ),
              );
              break;
            case 'nest': {
              const dict = pick(
                alive().filter((item) => item.kind === 'Dict' && item.main.length > 0),
                a,
              );
              const list = pick(
                objects.filter((item) => item.kind === 'List' && item.main.length > 0),
                b,
              );
              if (dict === undefined || list === undefined) break;
              const key = `k${b % 3}`;
              await (dict.main[0] as unknown as { set(k: string, v: unknown): Promise<void> }).set(
                key,
                list.main[0],
              );
              const entries = nested.get(dict.id) ?? new Map<string, number>();
              entries.set(key, list.id);
              nested.set(dict.id, entries);
              break;
            }
            case 'unnest': {
              const dict = pick(
                alive().filter((item) => item.kind === 'Dict' && item.main.length > 0),
                a,
              );
              const entries = dict === undefined ? undefined : nested.get(dict.id);
              if (dict === undefined || entries === undefined || entries.size === 0) break;
              const key = [...entries.keys()][b % entries.size]!;
              await (dict.main[0] as unknown as { delete(k: string): Promise<boolean> }).delete(
                key,
              );
              entries.delete(key);
              break;
            }
            case 'terminate': {
              const agent = a % AGENTS;
              await agents[agent]![Symbol.asyncDispose]();
              agents[agent] = new Agent();
              for (const object of objects) {
                for (const key of [...object.slots])
                  if (key.startsWith(`${agent}:`)) object.slots.delete(key);
              }
              break;
            }
          }
        };

        const within = <T>(what: string, promise: Promise<T>) =>
          deadline(`${what} (sequence ${JSON.stringify(actions)})`, promise);

        try {
          for (const [index, { op, a, b }] of actions.entries()) {
            await within(`step ${index + 1}, ${op}`, step(op, a, b));
          }

          // Expected refcounts: client references, plus server references held by dicts that
          // are themselves still referenced (a released dict releases what it holds, R6).
          const expected = (): Map<number, number> => {
            const counts = new Map<number, number>();
            for (const object of objects)
              counts.set(object.id, object.main.length + object.slots.size);
            let changed = true;
            const counted = new Set<number>();
            while (changed) {
              changed = false;
              for (const [dictId, entries] of nested) {
                if (counted.has(dictId) || (counts.get(dictId) ?? 0) === 0) continue;
                counted.add(dictId);
                changed = true;
                for (const listId of entries.values())
                  counts.set(listId, (counts.get(listId) ?? 0) + 1);
              }
            }
            return new Map([...counts].filter(([, count]) => count > 0));
          };
          const actual = async () =>
            new Map(
              (await within('reading the table', manager.entries())).map(
                (entry) => [entry.id, entry.refcount] as [number, number],
              ),
            );
          const want = expected();
          // Releases by the finalizer, by a terminated thread's closed port and by a disposed
          // dict reach the server in their own time: wait for them (by the clock, since a slow
          // machine's gc() and thread switches make any count of rounds short).
          const got = await collectUntil(actual, (counts) => sameCounts(counts, want), SETTLE_MS);
          expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
        } finally {
          // Release everything (also after a failure, so the next run starts clean): the table
          // must end empty.
          for (const object of objects) {
            for (const proxy of object.main.splice(0)) release(proxy);
            for (const key of object.slots) {
              const [agent, slot] = key.split(':').map(Number);
              await within(
                `clean-up, release in agent ${agent}`,
                agents[agent!]!.run({ cmd: 'release', slot }),
              );
            }
            object.slots.clear();
          }
          await collectUntil(
            () => within('clean-up, counting objects', manager.numberOfObjects()),
            (count) => count === 0,
            SETTLE_MS,
          );
        }
        expect(await within('reading the table', manager.entries())).toEqual([]);
      }),
      // A failure is reported as found: shrinking it would rerun sequences that each wait
      // seconds for counts that do not come, and its timing-dependent cause may not recur.
      { numRuns: RUNS, endOnFailure: true },
    );
  } finally {
    await Promise.all(agents.map((agent) => agent[Symbol.asyncDispose]()));
  }
  expect(await manager.numberOfObjects()).toBe(0);
});

/** `promise`, or a failure naming `what` if it has not settled within STEP_DEADLINE_MS. */
async function deadline<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${STEP_DEADLINE_MS} ms`)),
      STEP_DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function dropOne(object: ModelObject | undefined): void {
  object?.main.pop();
}

async function createObject(
  manager: Awaited<ReturnType<typeof ContainerManager.start>>,
  kind: Kind,
): Promise<ModelObject> {
  const proxy = (kind === 'List' ? await manager.List() : await manager.Dict()) as BaseProxy;
  return { id: tokenOf(proxy).id, kind, main: [proxy], slots: new Set() };
}

function sameCounts(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, count] of a) if (b.get(id) !== count) return false;
  return true;
}
