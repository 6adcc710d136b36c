import '@managers/refcount/polyfill';
export { ManagedPool, managedPoolOptions, runTask } from './pool';
export type { ManagedPoolOptions, PiscinaOptions, PiscinaRunOptions } from './pool';
export { defineTask, retain } from './task';
export type { TaskOptions } from './task';
export { taskFile, typeScriptExecArgv, isTypeScriptFile } from './entry';
