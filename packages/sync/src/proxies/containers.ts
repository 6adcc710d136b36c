import type { MapKey } from '../objects/map-keys';
import { LIST_SORT } from './option-specs';
import { SyncProxy } from './sync-proxy';

/**
 * Proxy of a shared Map (Python's dict): every method is async. Keys are primitives, arrays
 * (Python's tuples) or Sets (frozensets) of keys; arrays and Sets are compared by value
 * (`d.set([1, 'a'], v)` then `d.get([1, 'a'])` finds it).
 */
export class MapProxy<K extends MapKey = MapKey, V = unknown> extends SyncProxy {
  /** The value of `key`, or `fallback` (default undefined) when missing. */
  get(key: K, ...fallback: [V?]): Promise<V | undefined> {
    return this.call('get', key, ...fallback);
  }
  /** Python's `d[key]`: rejects with `ERR_KEY_NOT_FOUND` when missing. */
  getItem(key: K): Promise<V> {
    return this.call('getItem', key);
  }
  set(key: K, value: V): Promise<void> {
    return this.call('set', key, value);
  }
  has(key: K): Promise<boolean> {
    return this.call('has', key);
  }
  delete(key: K): Promise<boolean> {
    return this.call('delete', key);
  }
  size(): Promise<number> {
    return this.call('size');
  }
  keys(): Promise<K[]> {
    return this.call('keys');
  }
  values(): Promise<V[]> {
    return this.call('values');
  }
  entries(): Promise<[K, V][]> {
    return this.call('entries');
  }
  /** Python's `items()`. */
  items(): Promise<[K, V][]> {
    return this.call('entries');
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
  /**
   * Python's `d.update(other)`: a Map, a plain object, or an iterable of [key, value] pairs
   * (a generator too: it is read here). Anything else (`'ab'`, `5`, `null`) rejects with
   * `ERR_INVALID_OPTION`, as Python's ValueError/TypeError, and stores nothing.
   */
  update(entries: Iterable<readonly [K, V]> | Record<string, V>): Promise<void> {
    return this.call('update', isLocalIterable(entries) ? [...entries] : entries);
  }
  pop(key: K, ...fallback: [V?]): Promise<V> {
    return this.call('pop', key, ...fallback);
  }
  popitem(): Promise<[K, V]> {
    return this.call('popitem');
  }
  setdefault(key: K, value?: V): Promise<V> {
    return this.call('setdefault', key, ...(value === undefined ? [] : [value]));
  }
  /** A copy as a local Map (Python's `copy()` / `_getvalue()`); proxies inside are live and counted. */
  copy(): Promise<Map<K, V>> {
    return this.call('copy');
  }
  /** Iterates the keys of a snapshot taken in one call (Python creates a counted Iterator object instead). */
  async *[Symbol.asyncIterator](): AsyncGenerator<K> {
    yield* await this.keys();
  }
}

/** An iterable to read here (a Map, a generator): not an array, a string or a proxy, sent as they are. */
function isLocalIterable(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof SyncProxy) &&
    typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function'
  );
}

/** Proxy of a shared List. */
export class ListProxy<T = unknown> extends SyncProxy {
  append(value: T): Promise<void> {
    return this.call('append', value);
  }
  extend(values: Iterable<T>): Promise<void> {
    return this.call('extend', [...values]);
  }
  insert(index: number, value: T): Promise<void> {
    return this.call('insert', index, value);
  }
  /** Python's `lst[i]` (negative indices count from the end); out of range: `ERR_INDEX_RANGE`. */
  get(index: number): Promise<T> {
    return this.call('get', index);
  }
  set(index: number, value: T): Promise<void> {
    return this.call('set', index, value);
  }
  delete(index: number): Promise<void> {
    return this.call('delete', index);
  }
  pop(index?: number): Promise<T> {
    return this.call('pop', ...(index === undefined ? [] : [index]));
  }
  remove(value: T): Promise<void> {
    return this.call('remove', value);
  }
  /**
   * Python's `list.index(x, start, stop)`: the first index of `value` in `[start, stop)`
   * (negative bounds count from the end, as a slice's); `ERR_VALUE_NOT_FOUND` if absent.
   */
  index(value: T, start?: number | null, stop?: number | null): Promise<number> {
    return this.call(
      'index',
      value,
      ...(stop === undefined ? (start === undefined ? [] : [start]) : [start ?? null, stop]),
    );
  }
  count(value: T): Promise<number> {
    return this.call('count', value);
  }
  /** Python's `x in lst`. */
  includes(value: T): Promise<boolean> {
    return this.call('includes', value);
  }
  length(): Promise<number> {
    return this.call('length');
  }
  /** A copy of `[start, end)` with JS `Array.prototype.slice` semantics (negative: from the end). */
  slice(start?: number, end?: number): Promise<T[]> {
    return this.call('slice', start, end);
  }
  /**
   * Python's `lst[start:stop:step]`, in one call: omitted (undefined/null) bounds as in Python,
   * negative indices from the end, a negative step walks backwards (`getSlice(null, null, -1)`
   * is `lst[::-1]`). A zero step rejects with `ERR_INVALID_OPTION`.
   */
  getSlice(start?: number | null, stop?: number | null, step?: number | null): Promise<T[]> {
    return this.call('getSlice', start, stop, step);
  }
  /**
   * Python's `lst[start:stop:step] = values`, in one atomic call: with step 1 (or omitted) the
   * list grows or shrinks (`setSlice(2, 4, ['a', 'b', 'c'])`, `setSlice(5, 5, [x])` inserts);
   * an extended slice needs exactly as many values as it selects, or rejects with
   * `ERR_SLICE_SIZE` (Python's ValueError) and changes nothing.
   */
  setSlice(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: Iterable<T>,
    step?: number | null,
  ): Promise<void> {
    return this.call('setSlice', start, stop, [...values], step);
  }
  /** Python's `del lst[start:stop:step]`, in one atomic call. */
  deleteSlice(start?: number | null, stop?: number | null, step?: number | null): Promise<void> {
    return this.call('deleteSlice', start, stop, step);
  }
  reverse(): Promise<void> {
    return this.call('reverse');
  }
  /**
   * Sorts numbers or strings. No key function (a function cannot cross to the server: sort a
   * `copy()` here instead); `sort({ key })` rejects with `ERR_INVALID_OPTION`.
   */
  sort(options?: { reverse?: boolean }): Promise<void> {
    return this.withOptions<{ reverse?: boolean }, void>('sort(options)', options, LIST_SORT, (o) =>
      this.call('sort', o.reverse === true),
    );
  }
  /** Python's `lst *= n`. */
  repeat(n: number): Promise<void> {
    return this.call('repeat', n);
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
  /** A copy as a local array (Python's `lst[:]` / `_getvalue()`). */
  copy(): Promise<T[]> {
    return this.call('copy');
  }
  /** Iterates by fetching slices of `chunk` elements until one comes back short. */
  async *iterate(chunk = 64): AsyncGenerator<T> {
    for (let start = 0; ; start += chunk) {
      const part = await this.slice(start, start + chunk);
      yield* part;
      if (part.length < chunk) return;
    }
  }
  [Symbol.asyncIterator](): AsyncGenerator<T> {
    return this.iterate();
  }
}

/** Proxy of a Namespace: named attributes, read and written by copy. */
export class NamespaceProxy<
  T extends Record<string, unknown> = Record<string, unknown>,
> extends SyncProxy {
  /** An attribute; missing: `ERR_NO_ATTRIBUTE` ("'Namespace' object has no attribute 'b'"). */
  get<N extends keyof T & string>(name: N): Promise<T[N]> {
    return this.call('get', name);
  }
  set<N extends keyof T & string>(name: N, value: T[N]): Promise<void> {
    return this.call('set', name, value);
  }
  delete(name: keyof T & string): Promise<void> {
    return this.call('delete', name);
  }
  /** Python's `hasattr`. */
  has(name: string): Promise<boolean> {
    return this.call('has', name);
  }
  keys(): Promise<string[]> {
    return this.call('keys');
  }
  /** A copy of every attribute (Python's `_getvalue()`). */
  toObject(): Promise<Partial<T>> {
    return this.call('toObject');
  }
}

/** Proxy of a Value (`Value('c')`: T is Uint8Array, a one-byte value, and `set` takes 0–255 too). */
export class ValueProxy<T extends number | bigint | Uint8Array = number> extends SyncProxy {
  get(): Promise<T> {
    return this.call('get');
  }
  set(value: T | (T extends Uint8Array ? number : never)): Promise<void> {
    return this.call('set', value);
  }
  /** Adds `delta` in the server in one call (no lost updates); resolves with the new value. */
  add(delta: T = 1 as T): Promise<T> {
    return this.call('add', delta);
  }
  typecode(): Promise<string> {
    return this.call('typecode');
  }
}

/** Proxy of a typed Array. */
export class ArrayProxy<T extends number | bigint = number> extends SyncProxy {
  length(): Promise<number> {
    return this.call('length');
  }
  get(index: number): Promise<T> {
    return this.call('get', index);
  }
  set(index: number, value: T): Promise<void> {
    return this.call('set', index, value);
  }
  /** A copy of `[start, end)` with JS `Array.prototype.slice` semantics (negative: from the end). */
  slice(start?: number, end?: number): Promise<T[]> {
    return this.call('slice', start, end);
  }
  /** Python's `arr[start:stop:step]`, in one call (see `ListProxy.getSlice`). */
  getSlice(start?: number | null, stop?: number | null, step?: number | null): Promise<T[]> {
    return this.call('getSlice', start, stop, step);
  }
  /**
   * Python's `arr[start:stop:step] = values`, in one atomic call. The array keeps its length:
   * `values` must have as many elements as the slice selects (else `ERR_SLICE_SIZE`), each
   * checked against the typecode before any is written. There is no `deleteSlice` (Python's
   * ArrayProxy has no `__delitem__`).
   */
  setSlice(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: Iterable<T>,
    step?: number | null,
  ): Promise<void> {
    return this.call('setSlice', start, stop, [...values], step);
  }
  /** A copy of every element (`Array('c')`: a Uint8Array, Python's `arr[:]` bytes). */
  toArray(): Promise<T[]> {
    return this.call('toArray');
  }
  typecode(): Promise<string> {
    return this.call('typecode');
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    const all: T[] | Uint8Array = await this.toArray();
    // 'c' arrays: a Uint8Array of bytes, iterated as one-byte Uint8Arrays (Python's b'x').
    if (ArrayBuffer.isView(all))
      for (const byte of all as unknown as Uint8Array) yield Uint8Array.of(byte) as never;
    else yield* all;
  }
}

/**
 * The typing of an `Array('c', …)` proxy (an ArrayProxy at run time): elements are one-byte
 * Uint8Arrays (Python's `b'x'`; `set` also takes 0–255), slices and `toArray()` are Uint8Arrays
 * (Python's bytes).
 */
export interface CharArrayProxy extends Omit<
  ArrayProxy<never>,
  'get' | 'set' | 'slice' | 'getSlice' | 'setSlice' | 'toArray' | typeof Symbol.asyncIterator
> {
  get(index: number): Promise<Uint8Array>;
  set(index: number, value: Uint8Array | number): Promise<void>;
  slice(start?: number, end?: number): Promise<Uint8Array>;
  getSlice(start?: number | null, stop?: number | null, step?: number | null): Promise<Uint8Array>;
  setSlice(
    start: number | null | undefined,
    stop: number | null | undefined,
    values: Uint8Array | Iterable<Uint8Array | number>,
    step?: number | null,
  ): Promise<void>;
  toArray(): Promise<Uint8Array>;
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array>;
}
