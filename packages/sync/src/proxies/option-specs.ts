/**
 * The options objects the @managers/sync proxies take, method by method (checked by
 * `checkOptions`, see `../options.ts`), with the Python parameters each replaces.
 */
import { optionChecks as is, type OptionsSpec, type PythonParameter } from '../options';

const BLOCKING: PythonParameter = { name: 'blocking', option: 'blocking', kind: 'flag' };
const BLOCK: PythonParameter = { name: 'block', option: 'block', kind: 'flag' };
const TIMEOUT: PythonParameter = { name: 'timeout', option: 'timeout', kind: 'seconds' };

const ACQUIRE_KEYS = { blocking: is.boolean, timeout: is.timeout, signal: is.signal };
const WAIT_KEYS = { timeout: is.timeout, signal: is.signal };
const QUEUE_KEYS = { block: is.boolean, timeout: is.timeout, signal: is.signal };

/** `acquire({ blocking, timeout, signal })` (Python's `acquire(blocking=True, timeout=-1)`). */
export const ACQUIRE: OptionsSpec = {
  keys: ACQUIRE_KEYS,
  example: '{ blocking: false } or { timeout: 200 }',
  python: { method: 'acquire', parameters: [BLOCKING, TIMEOUT] },
};

/** `hold({ blocking, timeout, signal })`: an acquire released at the end of a `using` block. */
export const HOLD: OptionsSpec = {
  keys: ACQUIRE_KEYS,
  example: '{ timeout: 200 }',
  python: { method: 'acquire', node: 'hold', parameters: [BLOCKING, TIMEOUT] },
};

/** `wait({ timeout, signal })` of a Condition, an Event or a Barrier (Python's `wait(timeout)`). */
export const WAIT: OptionsSpec = {
  keys: WAIT_KEYS,
  example: '{ timeout: 200 }',
  python: { method: 'wait', parameters: [TIMEOUT] },
};

/** `waitFor(predicate, { timeout, signal })` (Python's `wait_for(predicate, timeout)`). */
export const WAIT_FOR: OptionsSpec = {
  keys: WAIT_KEYS,
  example: '{ timeout: 200 }',
  python: { method: 'wait_for', node: 'waitFor', lead: 'predicate, ', parameters: [TIMEOUT] },
};

/** `get({ block, timeout, signal })` (Python's `get(block=True, timeout=None)`). */
export const QUEUE_GET: OptionsSpec = {
  keys: QUEUE_KEYS,
  example: '{ block: false } or { timeout: 200 }',
  python: { method: 'get', parameters: [BLOCK, TIMEOUT] },
};

/** `put(item, { block, timeout, signal })` (Python's `put(item, block=True, timeout=None)`). */
export const QUEUE_PUT: OptionsSpec = {
  keys: QUEUE_KEYS,
  example: '{ block: false } or { timeout: 200 }',
  python: { method: 'put', lead: 'item, ', parameters: [BLOCK, TIMEOUT] },
};

/** `join({ timeout, signal })` (Python's `join()` takes no timeout). */
export const QUEUE_JOIN: OptionsSpec = {
  keys: WAIT_KEYS,
  example: '{ timeout: 200 }',
};

/** `shutdown({ immediate })` (Python 3.13's `shutdown(immediate=False)`). */
export const QUEUE_SHUTDOWN: OptionsSpec = {
  keys: { immediate: is.boolean },
  example: '{ immediate: true }',
  python: {
    method: 'shutdown',
    parameters: [{ name: 'immediate', option: 'immediate', kind: 'flag' }],
  },
};

/** `iterate({ signal })` of a Queue. */
export const QUEUE_ITERATE: OptionsSpec = {
  keys: { signal: is.signal },
  example: '{ signal }',
};

/** `sort({ reverse })` (Python's `sort(*, key=None, reverse=False)`: no key function here). */
export const LIST_SORT: OptionsSpec = {
  keys: { reverse: is.boolean },
  refused: {
    key: "is not supported: a key function cannot cross to the server; sort the items on the caller's side (const items = await list.copy(); items.sort(…))",
  },
  example: '{ reverse: true }',
  python: {
    method: 'sort',
    parameters: [{ name: 'reverse', option: 'reverse', kind: 'flag', keyword: true }],
  },
};
