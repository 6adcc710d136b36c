/**
 * Python's SharedMemoryManager segments, as hosted objects: a named SharedArrayBuffer that any
 * thread reaches by name. A segment is counted like any hosted object (unlike Python) and
 * leaves the name table when its last proxy is released.
 */
import { randomBytes } from 'node:crypto';
import { SyncErrorCode, syncError } from '../errors';
import { checkOptions, optionChecks, type OptionsSpec } from '../options';

const segments = new Map<string, SharedMemorySegment>();

/** The options of `SharedMemory(options)` (Python's keyword arguments). */
export interface SharedMemoryOptions {
  /** The segment's name: to attach to (default), or for a new segment (`create: true`). */
  readonly name?: string;
  /** true: make a new segment; false (default, as Python): attach to `name`. */
  readonly create?: boolean;
  /** Bytes of a new segment (ignored when attaching, as Python). */
  readonly size?: number;
}

const SHARED_MEMORY_OPTIONS: OptionsSpec = {
  keys: { name: optionChecks.name, create: optionChecks.boolean, size: optionChecks.any },
  example: "{ create: true, size: 1024 } or { name: 'psm_1234' }",
  expected:
    "a size in bytes or an object such as { create: true, size: 1024 } or { name: 'psm_1234' }",
};

export class SharedMemorySegment {
  readonly #name: string;
  readonly #buffer: SharedArrayBuffer;

  constructor(name: string, size: number) {
    this.#name = name;
    try {
      this.#buffer = new SharedArrayBuffer(size);
    } catch (error) {
      // Python raises OSError (ENOMEM) for a segment the system cannot give.
      throw syncError(
        SyncErrorCode.InvalidOption,
        `SharedMemory: cannot allocate a segment of ${size} bytes (${(error as Error).message})`,
        { option: 'size' },
      );
    }
    segments.set(name, this);
  }

  /**
   * The factory of typeid `SharedMemory`, Python's `SharedMemory(name, create, size)`:
   * `(size)` or `({ create: true, size, name? })` makes a new segment (a random `psm_` name if
   * none is given; a name in use is `ERR_SEGMENT_EXISTS`, Python's FileExistsError);
   * `({ name })` / `({ name, create: false })` attaches to a live one: the same object, so its
   * count goes up (R7).
   */
  static open(spec: unknown): SharedMemorySegment {
    if (typeof spec === 'number' || typeof spec !== 'object' || spec === null) {
      return SharedMemorySegment.#create(undefined, spec);
    }
    const { name, create, size } = checkOptions<SharedMemoryOptions>(
      'SharedMemory(options)',
      spec,
      SHARED_MEMORY_OPTIONS,
    );
    if (create === true) return SharedMemorySegment.#create(name ?? undefined, size);
    if (typeof name !== 'string') {
      throw syncError(
        SyncErrorCode.InvalidOption,
        "options.name can only be omitted if options.create is true (Python's ValueError)",
        { option: 'name' },
      );
    }
    const found = segments.get(name);
    if (found === undefined) {
      throw syncError(
        SyncErrorCode.SegmentNotFound,
        `no shared memory segment named '${name}' (never created, unlinked, or released)`,
        { name },
      );
    }
    return found;
  }

  static #create(name: string | undefined, size: unknown): SharedMemorySegment {
    if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) {
      throw syncError(
        SyncErrorCode.InvalidOption,
        `'size' must be a positive integer different from zero, got ${typeof size === 'number' ? size : typeof size}`,
        { option: 'size' },
      );
    }
    if (name !== undefined) {
      if (segments.has(name)) {
        throw syncError(
          SyncErrorCode.SegmentExists,
          `a shared memory segment named '${name}' exists already (Python's FileExistsError)`,
          { name },
        );
      }
      return new SharedMemorySegment(name, size);
    }
    let random: string;
    do random = `psm_${randomBytes(4).toString('hex')}`;
    while (segments.has(random));
    return new SharedMemorySegment(random, size);
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

  /**
   * Python's `unlink()`: the name is freed (attaching by it fails; it may be created again);
   * the memory lives on for the proxies that hold it, until the last is released. A second
   * unlink is `ERR_SEGMENT_NOT_FOUND` (Python's FileNotFoundError).
   */
  unlink(): void {
    if (segments.get(this.#name) !== this) {
      throw syncError(
        SyncErrorCode.SegmentNotFound,
        `no shared memory segment named '${this.#name}' (unlinked already)`,
        { name: this.#name },
      );
    }
    segments.delete(this.#name);
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
