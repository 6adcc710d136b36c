/**
 * The memory this thread's JavaScript uses: its heap plus its ArrayBuffers (the object table
 * keeps its counts in typed arrays, outside the heap). Measure after a full GC.
 */
export function usedBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
