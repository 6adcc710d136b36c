import { hostedValueSymbol } from '@managers/proxy';

/** What `getValue(proxy)` returns for `object`: its `[hostedValueSymbol]()`, or itself. */
export function hostedValueOf(object: unknown): unknown {
  if ((typeof object !== 'object' && typeof object !== 'function') || object === null)
    return object;
  const valueOf = (object as { [hostedValueSymbol]?: unknown })[hostedValueSymbol];
  return typeof valueOf === 'function' ? (valueOf as () => unknown).call(object) : object;
}
