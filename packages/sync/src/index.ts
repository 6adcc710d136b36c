import '@managers/refcount/polyfill';
export { SyncManager, startSyncManager, asSyncProxy, SYNC_MODULE, PROXY_TYPES } from './manager';
export type { SyncManagerClass, SyncCreateMethods } from './manager';
export { SyncProxy } from './proxies/sync-proxy';
export type { WaitOptions, AcquireOptions, Held } from './proxies/sync-proxy';
export type { SyncForm, SyncHeld } from './proxies/sync-form';
export { MapProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy } from './proxies/containers';
export type { CharArrayProxy } from './proxies/containers';
export { QueueProxy } from './proxies/queue';
export type { QueueWaitOptions } from './proxies/queue';
export {
  LockProxy,
  SemaphoreProxy,
  ConditionProxy,
  EventProxy,
  BarrierProxy,
} from './proxies/locks';
export type { BarrierOptions } from './objects/locks';
export type { MapKey } from './objects/map-keys';
export type { SharedMemoryOptions } from './objects/shared-memory';
export { SharedMemoryProxy } from './proxies/shared-memory';
export { ShareableList } from './shareable-list';
export type { ShareableItem } from './shareable-list';
export { SyncErrorCode, syncError } from './errors';
