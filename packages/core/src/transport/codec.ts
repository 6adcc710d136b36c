import { DefaultSerializer, deserialize } from 'node:v8';
import { FRAME_HEADER_BYTES } from './frames';

/**
 * How a message becomes a frame's payload, and back. The first payload byte says which:
 *
 * - `J`: JSON (UTF-8), for values JSON carries exactly: null, booleans, finite numbers other
 *   than -0, strings, and arrays and plain objects of those (no `undefined`, no holes). Most
 *   protocol messages are this, and JSON is several times cheaper than `v8.serialize` for
 *   small values.
 * - `V`: `node:v8` serialization (the structured-clone format ports use) for everything else:
 *   Map, Set, Date, RegExp, BigInt, typed arrays, errors, `undefined`, NaN, cycles.
 *
 * The receiver decodes either; nothing else is accepted.
 */
export const JSON_KIND = 0x4a; // 'J'
const V8_KIND = 0x56; // 'V'
/** Past this many values, a message is not worth walking: it goes the v8 way. */
const JSON_WALK_BUDGET = 512;

/**
 * Encodes `value` as a whole frame: header (length), kind byte, payload. `v8` forces the v8
 * form (JSON escapes control characters in 6 bytes: a string of them is smaller as v8).
 */
export function encodeFrame(value: unknown, v8 = false): Buffer {
  budget = JSON_WALK_BUDGET;
  if (!v8 && isJsonExact(value, 0, true)) {
    const json = JSON.stringify(value);
    // Room for the worst case (3 bytes per UTF-16 unit), written once: no second pass to
    // measure the UTF-8 length. Small frames come from Node's buffer pool.
    const room = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1 + json.length * 3);
    const written = room.write(json, FRAME_HEADER_BYTES + 1, 'utf8');
    room.writeUInt32BE(written + 1, 0);
    room[FRAME_HEADER_BYTES] = JSON_KIND;
    return room.subarray(0, FRAME_HEADER_BYTES + 1 + written);
  }
  const serializer = new DefaultSerializer();
  serializer.writeRawBytes(V8_PREFIX);
  serializer.writeHeader();
  serializer.writeValue(value);
  const frame = serializer.releaseBuffer();
  frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 0);
  return frame;
}

const V8_PREFIX = Buffer.from([0, 0, 0, 0, V8_KIND]);

/** Decodes a frame's payload (without its header); throws on anything malformed. */
export function decodePayload(payload: Buffer): unknown {
  const kind = payload[0];
  if (kind === JSON_KIND) return JSON.parse(payload.toString('utf8', 1));
  if (kind === V8_KIND) {
    const value = deserialize(payload.subarray(1));
    checkArrayLengths(value, payload.length);
    return value;
  }
  throw new Error(`unknown payload kind ${String(kind)}`);
}

/** A sparse array may be this long whatever its frame's size (walking its holes takes ~ms). */
const MAX_SPARSE_LENGTH = 1 << 20;

/**
 * The v8 format can describe a sparse array of length 2^32-1 in a few bytes; a loop over it
 * (a batch, a list of ids, the walk that finds proxies in arguments) would freeze the server.
 * Every element of a dense array costs at least a byte, so an array longer than its payload
 * and than {@link MAX_SPARSE_LENGTH} is refused (the socket closes). The walk itself is
 * bounded by the payload: each object in it cost bytes.
 */
function checkArrayLengths(value: unknown, bytes: number): void {
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null || seen.has(item)) continue;
    seen.add(item);
    if (ArrayBuffer.isView(item)) continue;
    if (Array.isArray(item)) {
      if (item.length > bytes && item.length > MAX_SPARSE_LENGTH) {
        throw new Error(
          `an array of length ${item.length} in a ${bytes}-byte frame (sparse arrays longer than ${MAX_SPARSE_LENGTH} are refused)`,
        );
      }
      for (const key in item) stack.push(item[key as unknown as number]);
      continue;
    }
    if (item instanceof Map) {
      for (const [key, member] of item) stack.push(key, member);
      continue;
    }
    if (item instanceof Set) {
      for (const member of item) stack.push(member);
      continue;
    }
    for (const key in item) stack.push((item as Record<string, unknown>)[key]);
  }
}

/** What is left of the walk's budget (a module variable: the walk allocates nothing). */
let budget = 0;

/**
 * True when JSON round-trips `value` exactly (see above), within a walking budget. One
 * exception, for the protocol's own envelopes: a reply's `v` (at the top, or in a top-level
 * array of replies) may be `undefined` (a method that returns nothing): JSON drops the key, and
 * the receiver reads `reply.v` as `undefined` all the same.
 */
function isJsonExact(item: unknown, depth: number, envelope: boolean): boolean {
  if (--budget < 0 || depth > 32) return false;
  switch (typeof item) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(item) && !Object.is(item, -0);
    case 'object': {
      if (item === null) return true;
      if (Array.isArray(item)) {
        for (let i = 0; i < item.length; i++) {
          if (!(i in item) || !isJsonExact(item[i], depth + 1, depth === 0)) return false;
        }
        // Named properties on an array: structured clone keeps them, JSON does not.
        return Object.keys(item).length === item.length;
      }
      const proto = Object.getPrototypeOf(item);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in item) {
        const member = (item as Record<string, unknown>)[key];
        if (member === undefined && envelope && key === 'v') continue;
        if (!isJsonExact(member, depth + 1, false)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
