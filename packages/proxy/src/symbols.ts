/** Brands every proxy (across module copies and realms). */
export const proxySymbol: unique symbol = Symbol.for('@managers/proxy');
/** Reaches the `BaseProxy` behind an `AutoProxy` (a JS Proxy). */
export const proxyTargetSymbol: unique symbol = Symbol.for('@managers/proxy-target');
/** Reads the call options bound to a proxy view (`withCallOptions`, a synchronous proxy's). */
export const callOptionsSymbol: unique symbol = Symbol.for('@managers/call-options');
