import { EventEmitter } from 'node:events';
import type { Channel } from '../transport/channel';

/**
 * The transport of a portless handoff (an export, a directed handoff): there is none. Its
 * references wait in the table under the handoff's holder until a connection claims them by
 * key, or the handoff ends (a lease, its receiver's close); closing it releases them.
 */
export class LeaseChannel extends EventEmitter implements Channel {
  #closed = false;
  postMessage(): void {}
  start(): void {}
  ref(): void {}
  unref(): void {}
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
  }
}
