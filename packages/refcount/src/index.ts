import './polyfill';
export { ObjectTable, SERVER_HOLDER, formatDebugInfo, reprOf } from './table';
export type { TypeInfo, EntryInfo, DebugEntry, ObjectTableOptions } from './table';
export { TRACE_CHANNEL_NAME, traceChannel, TraceBuffer, formatTrace } from './trace';
export type { TraceEvent, TraceOp, FormatTraceOptions } from './trace';
export { inspectSymbol, managerIdSymbol, objectIdSymbol } from './inspect';
export { closestName, editDistance } from './names';
export type { Inspectable, InspectSnapshot } from './inspect';
export {
  ManagerError,
  ErrorCode,
  createManagerError,
  isManagerError,
  withCallerStack,
} from './errors';
export type { ManagerErrorOptions } from './errors';
