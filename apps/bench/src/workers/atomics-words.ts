/** The words of the Atomics floor's shared buffer (workload 9). */
export const ATOMICS_REQUEST = 0;
export const ATOMICS_REPLY = 1;
export const ATOMICS_VALUE = 2;
export const ATOMICS_STOP = 3;
export const ATOMICS_WORDS = 4;
