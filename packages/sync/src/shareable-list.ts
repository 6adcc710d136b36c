/**
 * Python's `ShareableList`: a fixed-length list of number, bigint, boolean, string and bytes
 * (Uint8Array) (both up to a byte length fixed at creation) and null, stored in a shared memory segment. Reads and writes
 * are local memory operations (no call): every thread that opened the segment sees them.
 *
 * Layout (little endian): [0] item count (int32); then 16 bytes per item: type (uint8 at +0),
 * capacity in bytes (int32 at +4), string or bytes length (int32 at +8), data offset (int32 at +12);
 * then the data, each slot a multiple of 8 bytes.
 */
import { SyncErrorCode, syncError } from './errors';
import { checkOptions, optionChecks, type OptionsSpec } from './options';
import type { SharedMemoryProxy } from './proxies/shared-memory';

/** `ShareableList.create(manager, items, { name })` (Python's `ShareableList(sequence, name=None)`). */
const SHAREABLE_LIST_OPTIONS: OptionsSpec = {
  keys: { name: optionChecks.name },
  example: "{ name: 'my-list' }",
};

/** What a ShareableList can hold. */
export type ShareableItem = number | bigint | boolean | string | Uint8Array | null;

enum Kind {
  Null = 0,
  Number = 1,
  BigInt = 2,
  Boolean = 3,
  String = 4,
  Bytes = 5,
}

function isBytes(value: unknown): value is Uint8Array {
  return (
    ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]'
  );
}

/** Python's `==` for items: bytes by content, others by value. */
function sameItem(a: ShareableItem, b: ShareableItem): boolean {
  if (isBytes(a) || isBytes(b)) {
    return isBytes(a) && isBytes(b) && a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  return a === b;
}

const HEADER = 8;
const DESCRIPTOR = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function kindOf(value: unknown, index: number): Kind {
  if (value === null) return Kind.Null;
  switch (typeof value) {
    case 'number':
      return Kind.Number;
    case 'bigint':
      if (value < -(2n ** 63n) || value >= 2n ** 63n) {
        throw syncError(
          SyncErrorCode.InvalidOption,
          `ShareableList item ${index}: bigint ${value} does not fit in 64 bits`,
          { index },
        );
      }
      return Kind.BigInt;
    case 'boolean':
      return Kind.Boolean;
    case 'string':
      return Kind.String;
    default:
      if (isBytes(value)) return Kind.Bytes;
      throw syncError(
        SyncErrorCode.InvalidOption,
        `ShareableList item ${index}: ${value === undefined ? 'undefined' : typeof value === 'object' ? Object.prototype.toString.call(value) : typeof value} is not supported (number, bigint, boolean, string, Uint8Array or null)`,
        { index },
      );
  }
}

function capacityFor(value: ShareableItem, kind: Kind): number {
  if (kind !== Kind.String && kind !== Kind.Bytes) return 8;
  const bytes =
    kind === Kind.Bytes ? (value as Uint8Array).length : encoder.encode(value as string).length;
  return Math.max(8, Math.ceil(bytes / 8) * 8);
}

/** The segment size a ShareableList of `items` needs. */
function layout(items: readonly ShareableItem[]): {
  size: number;
  capacities: number[];
  kinds: Kind[];
} {
  const kinds = items.map((item, index) => kindOf(item, index));
  const capacities = items.map((item, index) => capacityFor(item, kinds[index]!));
  const size = HEADER + DESCRIPTOR * items.length + capacities.reduce((a, b) => a + b, 0);
  return { size: Math.max(size, 8), capacities, kinds };
}

export class ShareableList implements Disposable, AsyncDisposable, Iterable<ShareableItem> {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #segment: SharedMemoryProxy;
  readonly #name: string;

  private constructor(segment: SharedMemoryProxy, buffer: SharedArrayBuffer, name: string) {
    this.#segment = segment;
    this.#view = new DataView(buffer);
    this.#bytes = new Uint8Array(buffer);
    this.#name = name;
  }

  /**
   * Makes a new list in a new segment of `manager` (a SyncManager), named `options.name` if
   * given (Python's `ShareableList(sequence, name=…)`). The list owns the segment's proxy:
   * dispose the list (or `release(list.segment)`) to drop it.
   */
  static async create(
    manager: {
      SharedMemory(spec: { create: true; size: number; name?: string }): Promise<SharedMemoryProxy>;
    },
    items: Iterable<ShareableItem>,
    given?: { readonly name?: string },
  ): Promise<ShareableList> {
    const options = checkOptions<{ name?: string }>(
      'ShareableList.create(manager, items, options)',
      given,
      SHAREABLE_LIST_OPTIONS,
    );
    const values = [...items];
    const { size, capacities, kinds } = layout(values);
    const segment = await manager.SharedMemory({
      create: true,
      size,
      ...(options.name === undefined || options.name === null ? {} : { name: options.name }),
    });
    try {
      const list = await ShareableList.open(segment, false);
      list.#format(values, capacities, kinds);
      return list;
    } catch (error) {
      segment[Symbol.dispose]();
      throw error;
    }
  }

  /** Opens the list stored in the segment named `name` (Python's `ShareableList(name=...)`). */
  static async attach(
    manager: { SharedMemory(spec: { name: string }): Promise<SharedMemoryProxy> },
    name: string,
  ): Promise<ShareableList> {
    const segment = await manager.SharedMemory({ name });
    try {
      return await ShareableList.open(segment);
    } catch (error) {
      // The proxy was made here: a refused segment's is dropped here too.
      segment[Symbol.dispose]();
      throw error;
    }
  }

  /**
   * Opens the list in `segment` (e.g. a segment proxy received from another thread); takes it
   * over. The segment's layout is checked first (item count, every item's type, capacity, data
   * range and length): a segment that does not hold a ShareableList is refused with
   * `ERR_INVALID_OPTION` naming what is wrong, and stays the caller's.
   */
  static async open(segment: SharedMemoryProxy, check = true): Promise<ShareableList> {
    const [buffer, name] = await Promise.all([segment.buffer(), segment.name()]);
    const list = new ShareableList(segment, buffer, name);
    if (check) {
      const problem = list.#layoutProblem();
      if (problem !== undefined) {
        throw syncError(
          SyncErrorCode.InvalidOption,
          `segment '${name}' does not hold a ShareableList: ${problem}`,
        );
      }
    }
    return list;
  }

  /** What is wrong with the segment's layout, if anything (see the top of this file). */
  #layoutProblem(): string | undefined {
    const size = this.#bytes.byteLength;
    if (size < HEADER) return `it has ${size} bytes, fewer than the ${HEADER}-byte header`;
    const n = this.length;
    const dataStart = HEADER + DESCRIPTOR * n;
    if (n < 0 || dataStart > size) return `its item count ${n} does not fit in its ${size} bytes`;
    for (let i = 0; i < n; i++) {
      const at = HEADER + DESCRIPTOR * i;
      const kind = this.#view.getUint8(at);
      const capacity = this.#view.getInt32(at + 4, true);
      const offset = this.#view.getInt32(at + 12, true);
      if (kind > Kind.Bytes) return `item ${i} has an unknown type tag ${kind}`;
      if (capacity < 8 || capacity % 8 !== 0)
        return `item ${i} has a capacity of ${capacity} bytes (a multiple of 8, at least 8)`;
      if (offset < dataStart || offset + capacity > size)
        return `item ${i}'s data (${capacity} bytes at ${offset}) is outside the data area (bytes ${dataStart}–${size})`;
      if (kind === Kind.String || kind === Kind.Bytes) {
        const length = this.#view.getInt32(at + 8, true);
        if (length < 0 || length > capacity)
          return `item ${i} has a length of ${length} bytes for a capacity of ${capacity}`;
      }
    }
    return undefined;
  }

  #format(values: ShareableItem[], capacities: number[], kinds: Kind[]): void {
    this.#view.setInt32(0, values.length, true);
    let offset = HEADER + DESCRIPTOR * values.length;
    values.forEach((_, i) => {
      const at = HEADER + DESCRIPTOR * i;
      this.#view.setInt32(at + 4, capacities[i]!, true);
      this.#view.setInt32(at + 12, offset, true);
      offset += capacities[i]!;
    });
    values.forEach((value, i) => this.#write(i, value, kinds[i]!));
  }

  /** The segment's name: pass it to `ShareableList.attach` in another thread. */
  get name(): string {
    return this.#name;
  }

  /** The segment proxy this list holds. */
  get segment(): SharedMemoryProxy {
    return this.#segment;
  }

  get length(): number {
    return this.#view.getInt32(0, true);
  }

  #index(index: number): number {
    const n = this.length;
    const i = Number.isInteger(index) && index < 0 ? index + n : index;
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw syncError(
        SyncErrorCode.IndexRange,
        `ShareableList index ${index} out of range (length ${n})`,
        { index },
      );
    }
    return i;
  }

  get(index: number): ShareableItem {
    const at = HEADER + DESCRIPTOR * this.#index(index);
    const offset = this.#view.getInt32(at + 12, true);
    switch (this.#view.getUint8(at) as Kind) {
      case Kind.Null:
        return null;
      case Kind.Number:
        return this.#view.getFloat64(offset, true);
      case Kind.BigInt:
        return this.#view.getBigInt64(offset, true);
      case Kind.Boolean:
        return this.#view.getUint8(offset) !== 0;
      case Kind.String: {
        const length = this.#view.getInt32(at + 8, true);
        return decoder.decode(this.#bytes.slice(offset, offset + length));
      }
      case Kind.Bytes: {
        // A copy (unlike Python, trailing zero bytes are kept: the length is stored).
        const length = this.#view.getInt32(at + 8, true);
        return this.#bytes.slice(offset, offset + length);
      }
      default:
        throw syncError(
          SyncErrorCode.InvalidOption,
          `ShareableList item ${index} has an unknown type tag`,
        );
    }
  }

  /** Sets an item; a string longer (in UTF-8 bytes) than its slot is an `ERR_INVALID_OPTION` error. */
  set(index: number, value: ShareableItem): void {
    const i = this.#index(index);
    this.#write(i, value, kindOf(value, i));
  }

  #write(i: number, value: ShareableItem, kind: Kind): void {
    const at = HEADER + DESCRIPTOR * i;
    const capacity = this.#view.getInt32(at + 4, true);
    const offset = this.#view.getInt32(at + 12, true);
    if (kind === Kind.String || kind === Kind.Bytes) {
      const bytes = kind === Kind.Bytes ? (value as Uint8Array) : encoder.encode(value as string);
      if (bytes.length > capacity) {
        throw syncError(
          SyncErrorCode.InvalidOption,
          `ShareableList item ${i}: ${kind === Kind.Bytes ? 'Uint8Array' : 'string'} of ${bytes.length} bytes exceeds available storage (${capacity} bytes)`,
          { index: i, bytes: bytes.length, capacity },
        );
      }
      this.#bytes.set(bytes, offset);
      this.#view.setInt32(at + 8, bytes.length, true);
    } else if (kind === Kind.Number) this.#view.setFloat64(offset, value as number, true);
    else if (kind === Kind.BigInt) this.#view.setBigInt64(offset, value as bigint, true);
    else if (kind === Kind.Boolean) this.#view.setUint8(offset, value ? 1 : 0);
    this.#view.setUint8(at, kind);
  }

  /** Python's `format`: one letter per item (n null, d number, q bigint, ? boolean, Ns string or bytes). */
  get format(): string {
    let text = '';
    for (let i = 0; i < this.length; i++) {
      const at = HEADER + DESCRIPTOR * i;
      const kind = this.#view.getUint8(at) as Kind;
      text +=
        kind === Kind.String || kind === Kind.Bytes
          ? `${this.#view.getInt32(at + 4, true)}s`
          : ['n', 'd', 'q', '?'][kind];
    }
    return text;
  }

  toArray(): ShareableItem[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }

  count(value: ShareableItem): number {
    return this.toArray().filter((item) => sameItem(item, value)).length;
  }

  index(value: ShareableItem): number {
    const i = this.toArray().findIndex((item) => sameItem(item, value));
    if (i < 0)
      throw syncError(SyncErrorCode.ValueNotFound, `${String(value)} not in ShareableList`);
    return i;
  }

  *[Symbol.iterator](): Iterator<ShareableItem> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  toString(): string {
    const shown = this.toArray().map((item) => (isBytes(item) ? `bytes(${item.length})` : item));
    return `ShareableList(${JSON.stringify(shown, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}, name='${this.#name}')`;
  }

  /** Releases the segment proxy (the segment goes when its last proxy does). */
  [Symbol.dispose](): void {
    this.#segment[Symbol.dispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#segment[Symbol.asyncDispose]();
  }
}
