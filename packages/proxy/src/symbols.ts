/** Brands every proxy (across module copies and realms). */
export const proxySymbol: unique symbol = Symbol.for('@managers/proxy');
/** Reaches the `BaseProxy` behind an `AutoProxy` (a JS Proxy). */
export const proxyTargetSymbol: unique symbol = Symbol.for('@managers/proxy-target');
/** Reads the call options bound to a proxy view (`withCallOptions`, a synchronous proxy's). */
export const callOptionsSymbol: unique symbol = Symbol.for('@managers/call-options');
/**
 * A hosted object may define `[hostedValueSymbol]()` to say what `getValue(proxy)` returns
 * (Python's `_getvalue()`): a copy of what it holds (a list's items, a value) rather than a
 * structured clone of its fields.
 */
export const hostedValueSymbol: unique symbol = Symbol.for('@managers/hosted-value');
