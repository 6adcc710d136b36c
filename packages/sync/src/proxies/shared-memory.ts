import { SyncProxy } from './sync-proxy';

/** Proxy of a shared memory segment: `buffer()` is a SharedArrayBuffer, the same memory in every thread. */
export class SharedMemoryProxy extends SyncProxy {
  #buffer: SharedArrayBuffer | undefined;

  name(): Promise<string> {
    return this.call('name');
  }
  size(): Promise<number> {
    return this.call('size');
  }
  /** The segment's memory (fetched once per proxy; reading and writing it needs no call). */
  async buffer(): Promise<SharedArrayBuffer> {
    this.#buffer ??= await this.call<SharedArrayBuffer>('buffer');
    return this.#buffer;
  }
}
