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
  /**
   * Python's `unlink()`: frees the name (attaching by it fails from now on) while the memory
   * lives on for every proxy that holds it. The segment still goes when its last proxy does.
   */
  unlink(): Promise<void> {
    return this.call('unlink');
  }
  /**
   * Python's `close()`: this proxy lets go of the segment (it is released, as by `using`). A
   * SharedArrayBuffer cannot be revoked: a `buffer()` taken before stays readable.
   */
  close(): Promise<void> {
    return this[Symbol.asyncDispose]();
  }
  /** The segment's memory (fetched once per proxy; reading and writing it needs no call). */
  async buffer(): Promise<SharedArrayBuffer> {
    this.#buffer ??= await this.call<SharedArrayBuffer>('buffer');
    return this.#buffer;
  }
}
