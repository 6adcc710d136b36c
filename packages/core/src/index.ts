import '@managers/refcount/polyfill';
import { installPostGuard } from './post-guard';
export { BaseManager, isManagerClass } from './manager';
export { encode, decode, discard, postMessage, createWorker, ManagerHandle } from './handoff';
export type { Encoded, EncodeOptions } from './handoff';
export { lend, borrow, keepBorrowed } from './loan';
export { exportProxy, importProxy } from './exported-proxy';
export type { ExportedProxy, ExportOptions, ImportOptions } from './exported-proxy';
export type { RemoteConnectOptions } from './remote';
export type { NetworkAddress, TcpAddress, UnixAddress, TlsSettings } from './transport/address';
export type { Loan, LendOptions, Borrowed, LeaseReport } from './loan';
export { connectedManagers } from './threads';
export type { ServerReference } from './references';
export { isTypeScriptFile, typeScriptExecArgv } from './worker-file';
export type { FileSpecifier } from './worker-file';
export type {
  ManagerClass,
  ManagerCloseInfo,
  ManagerInstance,
  ProxyFor,
  StartOptions,
} from './manager';
export type {
  RegistrySpec,
  TypeSpec,
  SpecOf,
  ProxyOf,
  ExposedPart,
  CreateMethods,
  CreateFunction,
  MethodOverrides,
  TypedRegisterOptions,
} from './types';
export type { RegisterOptions, Callable, ProxyType } from './registration';
export { fromErrorEnvelope, toErrorEnvelope } from './error-envelope';
export type { RebuiltError } from './error-envelope';
export { PROTOCOL_VERSION } from './protocol';
export { DEFAULT_MAX_MESSAGE_SIZE } from './message-size';
export { currentCall } from './server/call-context';
export { registryFunction } from './registry-module';
export type { CallContext, Caller } from './server/call-context';
export { syncProxy, isSyncProxy, syncFormSymbol } from './sync-proxy';
export { setTimer, clearTimer, MAX_TIMER_DELAY } from './timer';
export type { Timer } from './timer';
export type { SyncRemote, SyncProxyOf, SyncCaller } from './sync-proxy';
export {
  BaseProxy,
  release,
  getValue,
  remoteRepr,
  callMethod,
  tokenOf,
  isProxy,
  transfer,
  withCallOptions,
  hostedValueSymbol,
} from '@managers/proxy';
export type { Remote, Token, CallOptions } from '@managers/proxy';
export {
  ManagerError,
  ErrorCode,
  isManagerError,
  formatTrace,
  TRACE_CHANNEL_NAME,
  SERVER_HOLDER,
} from '@managers/refcount';
export type { TraceEvent, TraceOp, DebugEntry } from '@managers/refcount';

installPostGuard();
