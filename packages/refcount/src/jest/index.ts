/**
 * Jest matchers for refcount tests: `@managers/refcount/jest`.
 *
 * ```ts
 * import { installRefcountMatchers } from '@managers/refcount/jest';
 * installRefcountMatchers();
 *
 * expect(table).toHaveRefcount(id, 2);
 * await expect(manager).toHaveRefcount(proxy, 1); // async when the snapshot is a promise
 * expect(table).toHaveTraced([{ op: 'create', id }, { op: 'dispose', id }]);
 * expect(table).toHaveNoLiveObjects();
 * ```
 *
 * A failure prints the table (with holders) and the last trace events, so a failed
 * refcount test can be debugged from its output alone. The module imports nothing
 * from jest at runtime: it uses the global `expect`.
 */
import '../polyfill';
import { formatDebugInfo } from '../table';
import { formatTrace, type TraceEvent } from '../trace';
import { inspectSymbol, managerIdSymbol, objectIdSymbol, type InspectSnapshot } from '../inspect';

/** An object id, or something carrying one under {@link objectIdSymbol} (a proxy). */
export type RefcountId = number | { readonly [objectIdSymbol]: number };

/** An asymmetric matcher (`expect.any(Number)`, `expect.stringContaining('x')`…). */
export interface AsymmetricMatcherLike {
  asymmetricMatch(other: unknown): boolean;
}

/** A partial trace event: every field given must match (asymmetric matchers allowed). */
export type TracePattern = {
  readonly [K in keyof TraceEvent]?: TraceEvent[K] | AsymmetricMatcherLike;
};

/** What a matcher returns to jest. */
export interface RefcountMatcherResult {
  pass: boolean;
  message: () => string;
}

/** The parts of jest's matcher context the matchers use (all optional, for other runners). */
export interface RefcountMatcherContext {
  readonly isNot?: boolean;
  readonly equals?: (a: unknown, b: unknown) => boolean;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * The matchers {@link installRefcountMatchers} adds, for a matcher interface returning `R`:
 * jest's global `expect` gets them below; an `expect` imported from `@jest/globals` gets them
 * from a `declare module 'expect'` of yours (see the README).
 */
export interface RefcountMatchers<R> {
  /**
   * The received table (manager, proxy…) has `refcount` references to `id` (0 when `id`
   * is not in the table). Returns a promise when the snapshot is asynchronous: `await` it.
   */
  toHaveRefcount(id: RefcountId, refcount: number): R;
  /** The received proxy's object has `refcount` references. */
  toHaveRefcount(refcount: number): R;
  /** The received table has no live entries. */
  toHaveNoLiveObjects(): R;
  /** The received table's trace holds these partial events, in this order (others may come between). */
  toHaveTraced(expected: readonly TracePattern[]): R;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    // The type parameters must match @types/jest's declaration exactly.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
    interface Matchers<R, T = {}> extends RefcountMatchers<R> {}
  }
}

/** How many trace events a failure message shows. */
const TRACE_TAIL = 20;

function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return isObjectLike(value) && typeof (value as PromiseLike<T>).then === 'function';
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  if (typeof value === 'symbol' || typeof value === 'bigint') return value.toString();
  if (
    isObjectLike(value) &&
    typeof (value as { asymmetricMatch?: unknown }).asymmetricMatch === 'function'
  ) {
    const text = (value as { toString(): string }).toString();
    return text === '[object Object]' ? 'asymmetric matcher' : text;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function describePattern(pattern: TracePattern): string {
  return `{${Object.entries(pattern)
    .map(([key, value]) => `${key}: ${describe(value)}`)
    .join(', ')}}`;
}

/** Reads the snapshot of `received`, throwing a clear error when it is not inspectable. */
function snapshotOf(received: unknown, matcher: string): MaybePromise<InspectSnapshot> {
  const inspectFn = isObjectLike(received)
    ? (received as Record<symbol, unknown>)[inspectSymbol]
    : undefined;
  if (typeof inspectFn !== 'function') {
    throw new TypeError(
      `${matcher}: the received value must be inspectable (an ObjectTable, a manager or a proxy: ` +
        `something with a [Symbol.for('@managers/inspect')]() method), got ${describe(received)}`,
    );
  }
  return (inspectFn as () => MaybePromise<InspectSnapshot>).call(received);
}

/** Runs `evaluate` on the snapshot now, or when it resolves. */
function withSnapshot(
  received: unknown,
  matcher: string,
  evaluate: (snapshot: InspectSnapshot) => RefcountMatcherResult,
): MaybePromise<RefcountMatcherResult> {
  const snapshot = snapshotOf(received, matcher);
  if (isThenable<InspectSnapshot>(snapshot)) {
    return Promise.resolve(snapshot).then(evaluate, (error: unknown) => {
      // A released proxy cannot ask its manager any more: say what to do instead.
      if ((error as { code?: unknown } | null)?.code === 'ERR_PROXY_RELEASED') {
        throw new TypeError(
          `${matcher}: the received proxy was released, so it cannot read its manager's table; ` +
            `pass the manager instead: expect(manager).${matcher === 'toHaveRefcount' ? 'toHaveRefcount(proxy, 0)' : `${matcher}(…)`}`,
          { cause: error },
        );
      }
      throw error;
    });
  }
  return evaluate(snapshot);
}

/** Throws when `id` is a proxy of another manager than the table's. */
function checkSameManager(id: unknown, snapshot: InspectSnapshot, matcher: string): void {
  const proxyManager = isObjectLike(id)
    ? (id as Record<symbol, unknown>)[managerIdSymbol]
    : undefined;
  if (
    typeof proxyManager === 'string' &&
    snapshot.managerId !== undefined &&
    proxyManager !== snapshot.managerId
  ) {
    throw new TypeError(
      `${matcher}: the proxy belongs to another manager than the received one ('${snapshot.name}'): ` +
        'pass its own manager (or the proxy alone: expect(proxy).toHaveRefcount(n))',
    );
  }
}

function idOf(value: unknown, matcher: string): number {
  if (typeof value === 'number') return value;
  if (isObjectLike(value)) {
    const id = (value as Record<symbol, unknown>)[objectIdSymbol];
    if (typeof id === 'number') return id;
  }
  throw new TypeError(
    `${matcher}: the id must be a number or a proxy (something carrying [Symbol.for('@managers/object-id')]), got ${describe(value)}`,
  );
}

function checkCount(value: unknown, matcher: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(
      `${matcher}: the expected refcount must be a non-negative integer, got ${describe(value)}`,
    );
  }
  return value;
}

/** The table (with holders) and the last trace events, for failure messages. */
export function describeSnapshot(snapshot: InspectSnapshot, traceTail = TRACE_TAIL): string {
  const table =
    snapshot.entries.length === 0
      ? '  (empty)'
      : formatDebugInfo(snapshot.entries, { holders: true });
  const tail = snapshot.trace.slice(-traceTail);
  const skipped = snapshot.trace.length - tail.length;
  const traceText =
    tail.length === 0
      ? '  (no trace events: turn the ring buffer on with the traceBufferSize option)'
      : formatTrace(tail)
          .split('\n')
          .map((line) => `  ${line}`)
          .join('\n');
  return [
    `Table '${snapshot.name}' (${snapshot.entries.length} live object${snapshot.entries.length === 1 ? '' : 's'}):`,
    table,
    '',
    `Trace (last ${tail.length} event${tail.length === 1 ? '' : 's'}${skipped > 0 ? ` of ${snapshot.trace.length}` : ''}):`,
    traceText,
  ].join('\n');
}

function toHaveRefcount(
  this: RefcountMatcherContext | undefined,
  received: unknown,
  idOrRefcount: unknown,
  ...rest: unknown[]
): MaybePromise<RefcountMatcherResult> {
  const matcher = 'toHaveRefcount';
  const not = this?.isNot === true;
  let id: number;
  let expected: number;
  const proxy = rest.length === 0 ? received : idOrRefcount;
  if (rest.length === 0) {
    if (typeof idOrRefcount !== 'number' && idOrRefcount !== undefined) {
      throw new TypeError(
        `${matcher}(id, refcount): the expected refcount is missing, got only ${describe(idOrRefcount)} ` +
          '(expect(manager).toHaveRefcount(proxy, 1), or expect(proxy).toHaveRefcount(1))',
      );
    }
    if (
      !isObjectLike(received) ||
      typeof (received as Record<symbol, unknown>)[objectIdSymbol] !== 'number'
    ) {
      throw new TypeError(
        `${matcher}(refcount) takes the count of a received proxy, got ${describe(received)}; ` +
          'for a table or a manager give the id too: toHaveRefcount(idOrProxy, refcount)',
      );
    }
    id = idOf(received, `${matcher}(refcount) on a proxy`);
    expected = checkCount(idOrRefcount, matcher);
  } else {
    id = idOf(idOrRefcount, matcher);
    expected = checkCount(rest[0], matcher);
  }
  return withSnapshot(received, matcher, (snapshot) => {
    checkSameManager(proxy, snapshot, matcher);
    const entry = snapshot.entries.find((row) => row.id === id);
    const actual = entry?.refcount ?? 0;
    const pass = actual === expected;
    const holders =
      entry === undefined
        ? 'not in the table'
        : Object.entries(entry.holders)
            .map(([holder, count]) => `${holder}=${count}`)
            .join(', ') || 'no holders';
    return {
      pass,
      message: () =>
        [
          not
            ? `expect(${snapshot.name}).not.toHaveRefcount(id ${id}, ${expected})`
            : `expect(${snapshot.name}).toHaveRefcount(id ${id}, ${expected})`,
          '',
          not
            ? `Expected id ${id} not to have refcount ${expected}, but it has (${holders}).`
            : `Expected id ${id} to have refcount ${expected}, but it has ${actual} (${holders}).`,
          '',
          describeSnapshot(snapshot),
        ].join('\n'),
    };
  });
}

function toHaveNoLiveObjects(
  this: RefcountMatcherContext | undefined,
  received: unknown,
): MaybePromise<RefcountMatcherResult> {
  const not = this?.isNot === true;
  return withSnapshot(received, 'toHaveNoLiveObjects', (snapshot) => {
    const count = snapshot.entries.length;
    return {
      pass: count === 0,
      message: () =>
        [
          `expect(${snapshot.name})${not ? '.not' : ''}.toHaveNoLiveObjects()`,
          '',
          not
            ? 'Expected live objects in the table, but it is empty.'
            : `Expected no live objects, but ${count} ${count === 1 ? 'is' : 'are'} still in the table (a leak?).`,
          '',
          describeSnapshot(snapshot),
        ].join('\n'),
    };
  });
}

function matchesPattern(
  context: RefcountMatcherContext | undefined,
  event: TraceEvent,
  pattern: TracePattern,
): boolean {
  const equals = context?.equals ?? Object.is;
  for (const key of Object.keys(pattern) as (keyof TraceEvent)[]) {
    if (!equals(event[key], pattern[key])) return false;
  }
  return true;
}

function toHaveTraced(
  this: RefcountMatcherContext | undefined,
  received: unknown,
  expected: unknown,
): MaybePromise<RefcountMatcherResult> {
  const matcher = 'toHaveTraced';
  if (!Array.isArray(expected) || !expected.every(isObjectLike) || expected.length === 0) {
    throw new TypeError(
      `${matcher}: expected a non-empty array of partial trace events, got ${describe(expected)}`,
    );
  }
  const patterns = expected as TracePattern[];
  const context = this;
  const not = context?.isNot === true;
  return withSnapshot(received, matcher, (snapshot) => {
    // Greedy matching finds an ordered subsequence whenever one exists.
    const matchedSeqs: number[] = [];
    let next = 0;
    for (const event of snapshot.trace) {
      if (next === patterns.length) break;
      if (matchesPattern(context, event, patterns[next]!)) {
        matchedSeqs.push(event.seq);
        next++;
      }
    }
    const pass = next === patterns.length;
    const missed = snapshot.traceMissed ?? 0;
    if (not && !pass && missed > 0 && snapshot.trace.length === 0) {
      // The table has events and the trace shows none of them (its ring buffer is off, or the
      // caller is not the owner): `.not` could never fail, so it fails saying why. (A ring that
      // dropped its oldest events is checked over the events it holds.)
      return {
        pass: true,
        message: () =>
          [
            `expect(${snapshot.name}).not.toHaveTraced([...${patterns.length} events])`,
            '',
            `Cannot tell: the trace shows none of the ${missed} event${missed === 1 ? '' : 's'} of this table ` +
              '(its ring buffer is off, or only the thread that started the manager sees it): ' +
              'turn the ring buffer on with the traceBufferSize option.',
            '',
            describeSnapshot(snapshot),
          ].join('\n'),
      };
    }
    const list = patterns
      .map((pattern, i) => `  ${i < next ? '✓' : '✗'} ${describePattern(pattern)}`)
      .join('\n');
    return {
      pass,
      message: () =>
        [
          `expect(${snapshot.name})${not ? '.not' : ''}.toHaveTraced([...${patterns.length} events])`,
          '',
          not
            ? `Expected the trace not to contain these events in order, but it does (at seq ${matchedSeqs.join(', ')}):`
            : `Expected the trace to contain these events in order; matched ${next} of ${patterns.length}, ` +
              `the first missing is #${next + 1}` +
              (missed > 0
                ? ` (the ${missed} event${missed === 1 ? '' : 's'} before the trace shown ${missed === 1 ? 'is' : 'are'} not kept: see traceBufferSize):`
                : ':'),
          list,
          '',
          describeSnapshot(snapshot),
        ].join('\n'),
    };
  });
}

/** The matcher object, for `expect.extend(refcountMatchers)`. */
export const refcountMatchers = {
  toHaveRefcount,
  toHaveNoLiveObjects,
  toHaveTraced,
};

/** Installs the matchers on the global `expect` (call it once per test file, or in a setup file). */
export function installRefcountMatchers(): void {
  const globalExpect = (globalThis as { expect?: { extend?: (matchers: object) => void } }).expect;
  if (globalExpect === undefined || typeof globalExpect.extend !== 'function') {
    throw new Error(
      'installRefcountMatchers: no global `expect` with `extend` (run it inside jest)',
    );
  }
  globalExpect.extend(refcountMatchers);
}
