/**
 * Compile-time checks of the public types (ts-jest type-checks this file; a wrong
 * `@ts-expect-error` fails the suite). The runtime part only keeps jest happy.
 */
import {
  ErrorCode,
  ObjectTable,
  inspectSymbol,
  objectIdSymbol,
  type DebugEntry,
  type EntryInfo,
  type Inspectable,
  type InspectSnapshot,
  type TraceEvent,
  type TraceOp,
  type TypeInfo,
} from '../src';
import {
  installRefcountMatchers,
  refcountMatchers,
  type RefcountId,
  type TracePattern,
} from '../src/jest';
import { T } from './helpers';

installRefcountMatchers();

function typeChecks(table: ObjectTable): void {
  const id: number = table.register({}, T, 'main');
  const count: number = table.incref(id, 'main', 'why', 2, 'handoff');
  const info: EntryInfo | undefined = table.get(id);
  const rows: DebugEntry[] = table.entries();
  const events: TraceEvent[] = table.trace();
  const snapshot: InspectSnapshot | Promise<InspectSnapshot> = table[inspectSymbol]();
  const inspectable: Inspectable = table;
  const code: ErrorCode = ErrorCode.UnknownId;
  const op: TraceOp = 'dispose';
  void [count, info, rows, events, snapshot, inspectable, code, op];

  // @ts-expect-error a primitive cannot be registered
  table.register(1, T, 'main');
  // @ts-expect-error a TypeInfo needs exposed and methodToTypeid
  table.register({}, { typeid: 'X' }, 'main');
  // @ts-expect-error ids are numbers
  table.decref('1', 'main');
  // @ts-expect-error not a trace op
  const badOp: TraceOp = 'destroy';
  // @ts-expect-error TypeInfo is read-only
  T.typeid = 'Other';
  // @ts-expect-error trace events are read-only
  events[0]!.refcount = 3;
  // @ts-expect-error not an error code
  const badCode: ErrorCode = 'ERR_NOPE';
  void [badOp, badCode];

  // matchers
  const proxy: RefcountId = { [objectIdSymbol]: id };
  expect(table).toHaveRefcount(id, 1);
  expect(table).toHaveRefcount(proxy, 1);
  expect(proxy).toHaveRefcount(1);
  expect(table).not.toHaveNoLiveObjects();
  expect(table).toHaveTraced([{ op: 'create', id }, { op: 'dispose' }]);
  const pattern: TracePattern = { op: 'incref', holder: 'main' };
  // An asymmetric matcher typed as the `expect` package types it (@jest/globals), not `any`.
  const stringContaining: { asymmetricMatch(other: unknown): boolean; toString(): string } = {
    asymmetricMatch: (other) => typeof other === 'string',
  };
  const matching: TracePattern = { op: 'create', cause: stringContaining, id: stringContaining };
  void [pattern, matching];
  // @ts-expect-error the id must be a number or carry objectIdSymbol
  expect(table).toHaveRefcount('1', 1);
  // @ts-expect-error not a trace op
  expect(table).toHaveTraced([{ op: 'created' }]);
  // @ts-expect-error patterns are partial trace events
  expect(table).toHaveTraced([{ nope: 1 }]);
  // @ts-expect-error toHaveNoLiveObjects takes no argument
  expect(table).toHaveNoLiveObjects(1);

  const info2: TypeInfo = { typeid: 'Y', exposed: ['a'], methodToTypeid: { a: 'Y' } };
  void info2;
}

it('type-checks the public API (see the @ts-expect-error lines)', () => {
  expect(typeof typeChecks).toBe('function');
  expect(Object.keys(refcountMatchers).sort()).toEqual([
    'toHaveNoLiveObjects',
    'toHaveRefcount',
    'toHaveTraced',
  ]);
});
