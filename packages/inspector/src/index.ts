export { startInspector } from './inspector';
export type { Inspector, InspectedManager } from './inspector';
export { INSPECTOR_DEFAULTS } from './options';
export type { InspectorOptions } from './options';
export { buildSnapshot, computeWarnings, cyclicIds } from './model';
export type {
  InspectorSnapshot,
  ObjectView,
  HolderView,
  HolderKind,
  Warning,
  WarningKind,
} from './model';
export { TraceStore } from './store';
export type { ObjectHistory } from './store';
