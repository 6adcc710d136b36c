/**
 * Python's SharedMemoryManager segments, as hosted objects: a named SharedArrayBuffer that any
 * thread reaches by name. A segment is counted like any hosted object (unlike Python) and
 * leaves the name table when its last proxy is released.
 */
import { randomBytes } from 'node:crypto';
import { SyncErrorCode, syncError } from '../errors';

const segments = new Map<string, SharedMemorySegment>();

export class SharedMemorySegment {
  readonly #name: string;
  readonly #buffer: SharedArrayBuffer;

  constructor(name: string, size: number) {
    this.#name = name;
    this.#buffer = new SharedArrayBuffer(size);
    segments.set(name, this);
  }

  /**
   * The factory of typeid `SharedMemory`: `(size)` makes a new segment, `({ name })` finds a
   * live one (the same object, so its count goes up: R7).
   */
  static open(spec: unknown): SharedMemorySegment {
    if (
      typeof spec === 'object' &&
      spec !== null &&
      typeof (spec as { name?: unknown }).name === 'string'
    ) {
      const name = (spec as { name: string }).name;
      const found = segments.get(name);
      if (found === undefined) {
        throw syncError(
          SyncErrorCode.SegmentNotFound,
          `no shared memory segment named '${name}' (never created, or released)`,
          { name },
        );
      }
      return found;
    }
    if (typeof spec !== 'number' || !Number.isInteger(spec) || spec <= 0) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `'size' must be a positive integer different from zero, got ${typeof spec === 'number' ? spec : typeof spec}`,
        { option: 'size' },
      );
    }
    let name: string;
    do name = `psm_${randomBytes(4).toString('hex')}`;
    while (segments.has(name));
    return new SharedMemorySegment(name, spec);
  }

  name(): string {
    return this.#name;
  }

  size(): number {
    return this.#buffer.byteLength;
  }

  /** The SharedArrayBuffer itself: structured clone shares it, so every thread sees one memory. */
  buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  toString(): string {
    return `SharedMemory('${this.#name}', size=${this.#buffer.byteLength})`;
  }

  [Symbol.dispose](): void {
    if (segments.get(this.#name) === this) segments.delete(this.#name);
  }
}

/** The names of the live segments (Python's `list_segments`). */
export function listSegments(): string[] {
  return [...segments.keys()];
}
