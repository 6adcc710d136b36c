import '@managers/refcount/polyfill';
export { BaseProxy, NOT_CLONEABLE_KEY, connectionOf, watchCollection } from './base-proxy';
export { createAutoProxy, isProbedName, notExposedError, withCallOptions } from './auto-proxy';
export { proxyOfClass } from './through-proxy';
export {
  isProxy,
  toBaseProxy,
  release,
  tokenOf,
  callMethod,
  getValue,
  remoteRepr,
} from './functions';
export {
  transfer,
  transferAll,
  isMarkedForTransfer,
  encodeValue,
  decodeValue,
  isProxyEnvelope,
  forEachEnvelope,
  forEachProxy,
  PROXY_ENVELOPE_KEY,
  HANDLE_ENVELOPE_KEY,
  encodableSymbol,
} from './codec';
export type { ProxyEnvelope, EncodeProxy, EncodeCustom, DecodeProxy } from './codec';
export { proxySymbol, proxyTargetSymbol, callOptionsSymbol, hostedValueSymbol } from './symbols';
export type { Token, CallOptions, ProxyConnection } from './token';
export type { TransferListItem } from './transfer-list';
export { checkCallOptions } from './call-options';
export type { Remote, RemoteMethod, PublicMethodNames } from './remote';
