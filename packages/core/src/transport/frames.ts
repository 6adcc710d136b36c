/**
 * Length-prefixed frames on a byte stream: a 4-byte big-endian length, then that many bytes.
 * A zero-length frame is a heartbeat. The reader never buffers more than one frame's worth
 * plus a chunk, and refuses a frame longer than its bound before reading it.
 */

/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 4;
/** The heartbeat frame: a header announcing nothing. */
export const HEARTBEAT_FRAME: Buffer = Buffer.alloc(FRAME_HEADER_BYTES);

/** Why a stream of frames was given up. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** Splits a byte stream into frames; calls `onFrame` for each payload (empty: a heartbeat). */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(
    /** The largest payload accepted, in bytes. */
    public maxFrameBytes: number,
    private readonly onFrame: (payload: Buffer) => void,
  ) {}

  /** Feeds received bytes; throws {@link FrameError} on a frame longer than the bound. */
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= FRAME_HEADER_BYTES) {
      const head = this.#peekHeader();
      if (head > this.maxFrameBytes) {
        throw new FrameError(
          `a frame of ${head} bytes is larger than the limit of ${this.maxFrameBytes}`,
        );
      }
      if (this.#buffered < FRAME_HEADER_BYTES + head) return;
      const frame = this.#take(FRAME_HEADER_BYTES + head);
      this.onFrame(frame.subarray(FRAME_HEADER_BYTES));
    }
  }

  #peekHeader(): number {
    const first = this.#chunks[0]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined];
    return joined.readUInt32BE(0);
  }

  /** Removes and returns the first `length` buffered bytes. */
  #take(length: number): Buffer {
    this.#buffered -= length;
    const first = this.#chunks[0]!;
    if (first.length === length) {
      this.#chunks.shift();
      return first;
    }
    if (first.length > length) {
      this.#chunks[0] = first.subarray(length);
      return first.subarray(0, length);
    }
    const out = Buffer.allocUnsafe(length);
    let offset = 0;
    while (offset < length) {
      const chunk = this.#chunks[0]!;
      const wanted = length - offset;
      if (chunk.length <= wanted) {
        chunk.copy(out, offset);
        offset += chunk.length;
        this.#chunks.shift();
      } else {
        chunk.copy(out, offset, 0, wanted);
        this.#chunks[0] = chunk.subarray(wanted);
        offset += wanted;
      }
    }
    return out;
  }
}
