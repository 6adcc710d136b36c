/** Adds `key` to a bounded memory of keys: past `max`, the oldest is forgotten. */
export function remember(keys: Set<string>, key: string, max: number): void {
  keys.add(key);
  if (keys.size > max) keys.delete(keys.values().next().value as string);
}
