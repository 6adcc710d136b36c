/**
 * Property-based test of the table against a simple model: id → (holder → count).
 */
import fc from 'fast-check';
import { ErrorCode, ObjectTable } from '../src';
import { T } from './helpers';

const HOLDERS = ['main', 'w1', 'w2', 'server'] as const;
type HolderName = (typeof HOLDERS)[number];

type Command =
  | { kind: 'registerNew'; holder: HolderName; hook: 'sync' | 'async' | 'both' | 'none' }
  | { kind: 'registerSame'; pick: number; holder: HolderName }
  | { kind: 'incref'; pick: number; holder: HolderName; count: number }
  | { kind: 'decref'; pick: number; holder: HolderName; count: number }
  | { kind: 'releaseHolder'; holder: HolderName }
  | { kind: 'adopt'; from: HolderName; to: HolderName };

const holder = fc.constantFrom(...HOLDERS);
const pick = fc.nat({ max: 1000 });
const count = fc.integer({ min: 1, max: 3 });

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('registerNew' as const),
      holder,
      hook: fc.constantFrom('sync', 'async', 'both', 'none') as fc.Arbitrary<
        'sync' | 'async' | 'both' | 'none'
      >,
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('registerSame' as const), pick, holder }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('incref' as const), pick, holder, count }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('decref' as const), pick, holder, count }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('releaseHolder' as const), holder }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('adopt' as const), from: holder, to: holder }),
    weight: 1,
  },
);

interface Tracked {
  readonly object: object;
  id: number;
  disposals: number;
  /** False for an object without a dispose hook (nothing to count). */
  readonly hooked: boolean;
}

function makeObject(hook: 'sync' | 'async' | 'both' | 'none', tracked: () => Tracked): object {
  const onDispose = () => {
    tracked().disposals++;
  };
  switch (hook) {
    case 'sync':
      return { [Symbol.dispose]: onDispose };
    case 'async':
      return { [Symbol.asyncDispose]: async () => onDispose() };
    case 'both':
      // only the async hook may run
      return {
        [Symbol.asyncDispose]: async () => onDispose(),
        [Symbol.dispose]: () => {
          tracked().disposals += 100;
        },
      };
    case 'none':
      return {};
  }
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? 'not a ManagerError';
  }
}

function run(commands: Command[]): void {
  const table = new ObjectTable({ name: 'prop' });
  const model = new Map<number, Map<string, number>>();
  const all: Tracked[] = [];
  const live = () => all.filter((t) => model.has(t.id));

  const total = (id: number) => [...model.get(id)!.values()].reduce((a, b) => a + b, 0);
  const add = (id: number, h: string, n: number) => {
    const row = model.get(id)!;
    row.set(h, (row.get(h) ?? 0) + n);
  };

  const check = (step: number) => {
    table.assertConsistent();
    expect(table.numberOfObjects()).toBe(model.size);
    for (const [id, row] of model) {
      expect(table.refcount(id)).toBe(total(id));
      expect(table.holders(id)).toEqual(Object.fromEntries(row));
    }
    for (const h of HOLDERS) {
      const expected = new Map<number, number>();
      for (const [id, row] of model) if (row.has(h)) expected.set(id, row.get(h)!);
      expect(table.heldBy(h)).toEqual(expected);
    }
    for (const t of all) {
      // disposed exactly once, and only once its model count reached zero
      if (t.disposals !== (t.hooked && !model.has(t.id) ? 1 : 0)) {
        throw new Error(
          `step ${step}: id ${t.id} disposed ${t.disposals} times, live in model: ${model.has(t.id)}`,
        );
      }
    }
  };

  commands.forEach((cmd, step) => {
    const before = table.entries();
    switch (cmd.kind) {
      case 'registerNew': {
        let tracked!: Tracked;
        const object = makeObject(cmd.hook, () => tracked);
        tracked = { object, id: 0, disposals: 0, hooked: cmd.hook !== 'none' };
        const id = table.register(object, T, cmd.holder);
        expect(model.has(id)).toBe(false);
        expect(all.some((t) => t.id === id)).toBe(false);
        tracked.id = id;
        all.push(tracked);
        model.set(id, new Map([[cmd.holder, 1]]));
        break;
      }
      case 'registerSame': {
        const candidates = live();
        if (candidates.length === 0) break;
        const t = candidates[cmd.pick % candidates.length]!;
        expect(table.register(t.object, T, cmd.holder)).toBe(t.id);
        add(t.id, cmd.holder, 1);
        break;
      }
      case 'incref': {
        const candidates = live();
        if (candidates.length === 0) {
          expect(errorCode(() => table.incref(cmd.pick + 1_000_000, cmd.holder))).toBe(
            ErrorCode.UnknownId,
          );
          expect(table.entries()).toEqual(before);
          break;
        }
        const t = candidates[cmd.pick % candidates.length]!;
        add(t.id, cmd.holder, cmd.count);
        expect(table.incref(t.id, cmd.holder, 'prop', cmd.count)).toBe(total(t.id));
        break;
      }
      case 'decref': {
        // pick among every object ever registered: dead ids are unknown
        if (all.length === 0) break;
        const t = all[cmd.pick % all.length]!;
        const row = model.get(t.id);
        const held = row?.get(cmd.holder) ?? 0;
        if (row === undefined || held < cmd.count) {
          const expected =
            row === undefined
              ? ErrorCode.UnknownId
              : held === 0
                ? ErrorCode.UnknownHolder
                : ErrorCode.InvalidOption;
          expect(errorCode(() => table.decref(t.id, cmd.holder, 'prop', cmd.count))).toBe(expected);
          expect(table.entries()).toEqual(before);
          break;
        }
        if (held === cmd.count) row.delete(cmd.holder);
        else row.set(cmd.holder, held - cmd.count);
        const left = total(t.id);
        if (left === 0) model.delete(t.id);
        expect(table.decref(t.id, cmd.holder, 'prop', cmd.count)).toBe(left);
        break;
      }
      case 'releaseHolder': {
        let dropped = 0;
        for (const [id, row] of model) {
          dropped += row.get(cmd.holder) ?? 0;
          row.delete(cmd.holder);
          if (row.size === 0) model.delete(id);
        }
        expect(table.releaseHolder(cmd.holder)).toBe(dropped);
        break;
      }
      case 'adopt': {
        let moved = 0;
        if (cmd.from !== cmd.to) {
          for (const row of model.values()) {
            const n = row.get(cmd.from);
            if (n === undefined) continue;
            moved += n;
            row.delete(cmd.from);
            row.set(cmd.to, (row.get(cmd.to) ?? 0) + n);
          }
        }
        expect(table.adopt(cmd.from, cmd.to)).toBe(moved);
        break;
      }
    }
    check(step);
  });

  // releasing everyone empties the table and disposes everything exactly once
  for (const h of HOLDERS) table.releaseHolder(h);
  model.clear();
  check(commands.length);
  expect(table.numberOfObjects()).toBe(0);
}

it('the table matches the model over random command sequences', () => {
  fc.assert(
    fc.property(fc.array(command, { maxLength: 60 }), (commands) => run(commands)),
    { numRuns: 1000 },
  );
});

it('clear() after random commands disposes every live object exactly once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(holder, fc.boolean()), { maxLength: 30 }), async (steps) => {
      const table = new ObjectTable();
      const disposals = new Map<number, number>();
      const ids: number[] = [];
      for (const [h, again] of steps) {
        if (again && ids.length > 0) {
          table.incref(ids[ids.length - 1]!, h);
          continue;
        }
        const box = { id: 0 };
        const object = {
          [Symbol.asyncDispose]: async () =>
            void disposals.set(box.id, (disposals.get(box.id) ?? 0) + 1),
        };
        box.id = table.register(object, T, h);
        ids.push(box.id);
      }
      await table.clear();
      expect(table.numberOfObjects()).toBe(0);
      table.assertConsistent();
      expect([...disposals.keys()].sort((a, b) => a - b)).toEqual(ids);
      expect([...disposals.values()].every((n) => n === 1)).toBe(true);
    }),
    { numRuns: 200 },
  );
});
