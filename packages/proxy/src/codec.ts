import { inspect, types } from 'node:util';
import { MessagePort } from 'node:worker_threads';
import type { TransferListItem } from './transfer-list';
import { createManagerError, ErrorCode } from '@managers/refcount';
import { isProxy, toBaseProxy } from './functions';
import type { BaseProxy } from './base-proxy';
import type { Token } from './token';

/** The key that marks an encoded proxy inside a value on the wire. */
export const PROXY_ENVELOPE_KEY = '@managers/proxy';

/** How a proxy travels inside a value: its token and, for a handoff, the connection key of the port that owns its reference. */
export interface ProxyEnvelope {
  readonly [PROXY_ENVELOPE_KEY]: 1;
  readonly token: Token;
  /** Key of the handoff connection whose port carries the reference (absent for proxies sent to their own server). */
  readonly key?: string;
  /** The client end of that handoff connection (travels in the transfer list). */
  readonly port?: MessagePort;
}

/** The key that marks an encoded manager handle inside a value on the wire. */
export const HANDLE_ENVELOPE_KEY = '@managers/handle';

/** Objects carrying this symbol (set to true) are handed to {@link EncodeHooks.custom} (manager handles). */
export const encodableSymbol: unique symbol = Symbol.for('@managers/encodable');

/** Called by {@link encodeValue} for every proxy found; returns what replaces it on the wire. */
export type EncodeProxy = (proxy: BaseProxy) => ProxyEnvelope;
/** Called by {@link encodeValue} for every object branded with {@link encodableSymbol}. */
export type EncodeCustom = (value: object) => unknown;
/** Called by {@link decodeValue} for every envelope found (a proxy or a handle); returns what replaces it. */
export type DecodeProxy = (envelope: ProxyEnvelope) => unknown;

function isEncodable(value: object): boolean {
  return (value as { [encodableSymbol]?: unknown })[encodableSymbol] === true;
}

const marked = new WeakSet<object>();

/**
 * Marks an ArrayBuffer or typed array to be moved, zero-copy, when it is sent as (part of) a
 * call argument or result, instead of copied. The sender's buffer is then detached: its
 * `byteLength` becomes 0 and reading it gives nothing. Returns `value` for chaining.
 */
export function transfer<T extends ArrayBufferLike | ArrayBufferView>(value: T): T {
  if (
    types.isSharedArrayBuffer(value) ||
    (ArrayBuffer.isView(value) && types.isSharedArrayBuffer(value.buffer))
  ) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      'transfer(buffer): shared memory (a SharedArrayBuffer, or a view of one) is shared with the receiver, never moved: send it without transfer()',
      { details: { option: 'buffer' } },
    );
  }
  if (!types.isArrayBuffer(value) && !ArrayBuffer.isView(value)) {
    throw createManagerError(
      ErrorCode.InvalidOption,
      `transfer(buffer): buffer must be an ArrayBuffer or a view of one (a typed array, a Buffer, a DataView), got ${inspect(value, { depth: 0 })}`,
      { details: { option: 'buffer' } },
    );
  }
  marked.add(value);
  return value;
}

/** True when `value` was marked with {@link transfer}. */
export function isMarkedForTransfer(value: object): boolean {
  return marked.has(value);
}

/** The hot path: an array of primitives (most argument lists) holds nothing to walk. */
function isFlat(value: object): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item === 'object' && item !== null) return false;
  }
  return true;
}

function tag(value: object): string {
  return Object.prototype.toString.call(value);
}

/** What a walk does with an object it meets. */
const enum Visit {
  /** Look inside it (arrays, Maps, Sets, plain objects; other objects have no inside). */
  Descend,
  /** Do not look inside it. */
  Skip,
  /** End the walk: the answer is found. */
  Stop,
}

/**
 * The one traversal of the codec: calls `visit` on every object reachable from `value`
 * through arrays, Map keys and values, Sets and plain objects' own enumerable properties,
 * each once (cycles and shared references are fine). Returns true if `visit` stopped it.
 */
function walkValue(value: unknown, visit: (item: object) => Visit): boolean {
  const seen = new Set<object>();
  const walk = (item: unknown): boolean => {
    if (typeof item !== 'object' || item === null || seen.has(item)) return false;
    seen.add(item);
    const verdict = visit(item);
    if (verdict !== Visit.Descend) return verdict === Visit.Stop;
    if (Array.isArray(item)) return item.some(walk);
    const kind = tag(item);
    if (kind === '[object Map]') {
      for (const [key, entry] of item as Map<unknown, unknown>)
        if (walk(key) || walk(entry)) return true;
      return false;
    }
    if (kind === '[object Set]') {
      for (const entry of item as Set<unknown>) if (walk(entry)) return true;
      return false;
    }
    if (kind !== '[object Object]') return false;
    for (const key of Object.keys(item))
      if (walk((item as Record<string, unknown>)[key])) return true;
    return false;
  };
  return walk(value);
}

/** True when `value` contains something the codec must handle: a proxy, a port, a marked buffer. */
function needsWalk(value: unknown): boolean {
  return walkValue(value, (item) => {
    if (isProxy(item) || item instanceof MessagePort || isEncodable(item)) return Visit.Stop;
    if (ArrayBuffer.isView(item))
      return marked.has(item) || marked.has(item.buffer) ? Visit.Stop : Visit.Skip;
    return marked.has(item) ? Visit.Stop : Visit.Descend;
  });
}

/**
 * Prepares `value` for postMessage: proxies become envelopes (through `encodeProxy`),
 * MessagePorts and buffers marked with {@link transfer} are appended to `transferList`.
 * A value with none of these is returned as it is, without copying.
 */
export function encodeValue(
  value: unknown,
  encodeProxy: EncodeProxy,
  transferList: TransferListItem[],
  encodeCustom?: EncodeCustom,
): unknown {
  if (typeof value !== 'object' || value === null || isFlat(value)) return value;
  // A manager handle is a class instance that reads as a plain object: it takes the full walk.
  const shallow = isEncodable(value)
    ? NOT_SHALLOW
    : replaceShallow(value, isProxy, (item) => encodeProxy(toBaseProxy(item)));
  if (shallow !== NOT_SHALLOW) return shallow;
  if (!needsWalk(value)) return value;
  return rebuild(value, new Map(), (item) => {
    if (isProxy(item)) return encodeProxy(toBaseProxy(item));
    if (isEncodable(item)) {
      if (encodeCustom === undefined) {
        throw createManagerError(
          ErrorCode.Unserializable,
          `${String(item)} cannot be sent in a call: send it with encode()`,
        );
      }
      return encodeCustom(item);
    }
    if (item instanceof MessagePort) {
      if (!transferList.includes(item)) transferList.push(item);
      return item;
    }
    if (ArrayBuffer.isView(item)) {
      if (
        (marked.has(item) || marked.has(item.buffer)) &&
        !transferList.includes(item.buffer as ArrayBuffer)
      ) {
        transferList.push(item.buffer as ArrayBuffer);
      }
      return item;
    }
    if (item instanceof ArrayBuffer || tag(item) === '[object ArrayBuffer]') {
      if (marked.has(item) && !transferList.includes(item as ArrayBuffer))
        transferList.push(item as ArrayBuffer);
      return item;
    }
    return undefined;
  });
}

/** True when `value` is a proxy envelope. */
export function isProxyEnvelope(value: unknown): value is ProxyEnvelope {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[PROXY_ENVELOPE_KEY] === 1
  );
}

/** True when `value` is a proxy or handle envelope. */
function isEnvelope(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as Record<string, unknown>)[PROXY_ENVELOPE_KEY] === 1 ||
      (value as Record<string, unknown>)[HANDLE_ENVELOPE_KEY] === 1)
  );
}

function hasEnvelope(value: unknown): boolean {
  return walkValue(value, (item) => (isEnvelope(item) ? Visit.Stop : Visit.Descend));
}

/** Turns every envelope inside a received value back into a proxy (through `decodeProxy`). */
export function decodeValue(value: unknown, decodeProxy: DecodeProxy): unknown {
  if (typeof value !== 'object' || value === null || isFlat(value)) return value;
  const shallow = replaceShallow(value, isEnvelope, (item) => decodeProxy(item as ProxyEnvelope));
  if (shallow !== NOT_SHALLOW) return shallow;
  if (!hasEnvelope(value)) return value;
  return rebuild(value, new Map(), (item) =>
    isEnvelope(item) ? decodeProxy(item as ProxyEnvelope) : undefined,
  );
}

/** Calls `visit` on every proxy envelope inside `value` (used to release the references of a value that is dropped). */
export function forEachEnvelope(value: unknown, visit: (envelope: ProxyEnvelope) => void): void {
  walkValue(value, (item) => {
    if (!isProxyEnvelope(item)) return Visit.Descend;
    visit(item);
    return Visit.Skip;
  });
}

/** What {@link replaceShallow} returns for a value it leaves to the full walk. */
const NOT_SHALLOW: unique symbol = Symbol('not shallow');
/** Larger objects take the full walk (the check for a repeated leaf is quadratic). */
const MAX_SHALLOW_KEYS = 16;

/**
 * The hot path of a task or a message, `{ proxy, item }` or a proxy alone: a leaf that `isLeaf`
 * picks (a proxy, an envelope), or a plain object whose own values are primitives or such
 * leaves, none twice. Returns the leaf replaced, the object itself when it holds no leaf, a
 * copy with each leaf replaced when it does, and NOT_SHALLOW for anything else (the full walk
 * then handles it: nested containers, a leaf met twice, ports and buffers, an own `__proto__`
 * key). It replaces leaves in the order the full walk would, reading each value once.
 */
function replaceShallow(
  value: object,
  isLeaf: (item: object) => boolean,
  replace: (item: object) => unknown,
): unknown {
  // A value that is itself a leaf (a proxy sent alone, a handoff's envelope): replaced whole.
  if (isLeaf(value)) return replace(value);
  if (Array.isArray(value) || tag(value) !== '[object Object]') return NOT_SHALLOW;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > MAX_SHALLOW_KEYS) return NOT_SHALLOW;
  // Read once (an own getter runs once): the copy holds what was checked.
  const items: unknown[] = new Array(keys.length);
  let leaves = 0;
  for (let index = 0; index < keys.length; index++) {
    if (keys[index] === '__proto__') return NOT_SHALLOW;
    const item = (items[index] = record[keys[index]!]);
    if (typeof item !== 'object' || item === null) continue;
    if (!isLeaf(item)) return NOT_SHALLOW;
    // The same leaf under two keys stays one (the full walk keeps shared references).
    for (let earlier = 0; earlier < index; earlier++)
      if (items[earlier] === item) return NOT_SHALLOW;
    leaves++;
  }
  if (leaves === 0) return value;
  const copy: Record<string, unknown> = {};
  for (let index = 0; index < keys.length; index++) {
    const item = items[index];
    copy[keys[index]!] = typeof item === 'object' && item !== null ? replace(item) : item;
  }
  return copy;
}

/**
 * Copies the containers of `value` (arrays, Maps, Sets, plain objects), keeping cycles and
 * shared references, and lets `replace` substitute leaves (returning undefined keeps the leaf).
 */
function rebuild(
  value: unknown,
  copies: Map<object, unknown>,
  replace: (item: object) => unknown,
): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const done = copies.get(value);
  if (done !== undefined) return done;
  const replaced = replace(value);
  if (replaced !== undefined) {
    copies.set(value, replaced);
    return replaced;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    copies.set(value, copy);
    for (const item of value) copy.push(rebuild(item, copies, replace));
    return copy;
  }
  const kind = tag(value);
  if (kind === '[object Map]') {
    const copy = new Map<unknown, unknown>();
    copies.set(value, copy);
    for (const [key, item] of value as Map<unknown, unknown>) {
      copy.set(rebuild(key, copies, replace), rebuild(item, copies, replace));
    }
    return copy;
  }
  if (kind === '[object Set]') {
    const copy = new Set<unknown>();
    copies.set(value, copy);
    for (const item of value as Set<unknown>) copy.add(rebuild(item, copies, replace));
    return copy;
  }
  if (kind !== '[object Object]') return value;
  const copy: Record<string, unknown> = {};
  copies.set(value, copy);
  for (const key of Object.keys(value)) {
    const item = rebuild((value as Record<string, unknown>)[key], copies, replace);
    // An own "__proto__" key (structured clone makes one) stays a plain property: assigning
    // it would set the copy's prototype.
    if (key === '__proto__')
      Object.defineProperty(copy, key, {
        value: item,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else copy[key] = item;
  }
  return copy;
}

/**
 * Calls `visit` on every proxy reachable from `value` through own enumerable properties,
 * arrays, Maps and Sets (not through private fields or closures). The server uses it to
 * release the proxies a disposed object held (R6).
 */
export function forEachProxy(value: unknown, visit: (proxy: BaseProxy) => void): void {
  if (typeof value !== 'object' || value === null) return;
  if (isProxy(value)) return visit(toBaseProxy(value));
  if (forEachShallowProxy(value, visit)) return;
  walkValue(value, (item) => {
    if (isProxy(item)) {
      visit(toBaseProxy(item));
      return Visit.Skip;
    }
    return item instanceof MessagePort ? Visit.Skip : Visit.Descend;
  });
}

/**
 * {@link forEachProxy} for the shape of most tasks, a plain object whose own values are
 * primitives or proxies (`{ proxy, item }`): visits its proxies without the walk's bookkeeping,
 * each once. Returns false, having visited nothing, for any other value (the walk handles it).
 */
function forEachShallowProxy(value: object, visit: (proxy: BaseProxy) => void): boolean {
  if (Array.isArray(value) || tag(value) !== '[object Object]') return false;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > MAX_SHALLOW_KEYS) return false;
  // Read once, then visited: nothing is visited unless the whole object is shallow.
  const items = new Array<unknown>(keys.length);
  for (let index = 0; index < keys.length; index++) {
    const item = (items[index] = record[keys[index]!]);
    if (typeof item === 'object' && item !== null && !isProxy(item)) return false;
  }
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    if (typeof item !== 'object' || item === null || items.indexOf(item) < index) continue;
    visit(toBaseProxy(item));
  }
  return true;
}

/**
 * Marks every ArrayBuffer and typed array inside `value` (through arrays, Maps, Sets and plain
 * objects) for transfer, as if each were wrapped in {@link transfer}. Used for methods
 * registered with `transferResults`.
 */
export function transferAll<T>(value: T): T {
  walkValue(value, (item) => {
    if (
      ArrayBuffer.isView(item) ||
      item instanceof ArrayBuffer ||
      tag(item) === '[object ArrayBuffer]'
    ) {
      marked.add(item);
      return Visit.Skip;
    }
    return isProxy(item) || item instanceof MessagePort ? Visit.Skip : Visit.Descend;
  });
  return value;
}
