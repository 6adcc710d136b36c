/** The longest delay `setTimeout` keeps (2^31 − 1 ms, 24.8 days): longer ones fire after 1 ms. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A timer of any length: Node's own below 24.8 days, a chain of them above. */
export type Timer = ReturnType<typeof setTimeout> | LongTimer;

class LongTimer {
  #timeout: ReturnType<typeof setTimeout>;
  #referenced = true;

  constructor(fn: () => void, delay: number) {
    // A monotonic clock: a change of the wall clock must not move the deadline.
    const deadline = performance.now() + delay;
    const arm = (): ReturnType<typeof setTimeout> => {
      const left = deadline - performance.now();
      const timeout =
        left > MAX_TIMER_DELAY
          ? setTimeout(() => (this.#timeout = arm()), MAX_TIMER_DELAY)
          : setTimeout(fn, Math.max(0, left));
      if (!this.#referenced) timeout.unref();
      return timeout;
    };
    this.#timeout = arm();
  }

  clear(): void {
    clearTimeout(this.#timeout);
  }

  unref(): this {
    this.#referenced = false;
    this.#timeout.unref();
    return this;
  }
}

/**
 * Calls `fn` after `delay` ms, for any delay a user may give: none for Infinity or NaN
 * ("never"), at once for 0 or less, a chain of timers past 24.8 days (where `setTimeout` alone
 * would fire after 1 ms). Whether 0 means "never" is the caller's to decide.
 */
export function setTimer(fn: () => void, delay: number): Timer | undefined {
  if (Number.isNaN(delay) || delay === Infinity) return undefined;
  if (delay < 0) delay = 0;
  return delay <= MAX_TIMER_DELAY ? setTimeout(fn, delay) : new LongTimer(fn, delay);
}

/** Stops a timer of {@link setTimer} (undefined: nothing to stop). */
export function clearTimer(timer: Timer | undefined): void {
  if (timer === undefined) return;
  if (timer instanceof LongTimer) timer.clear();
  else clearTimeout(timer);
}
