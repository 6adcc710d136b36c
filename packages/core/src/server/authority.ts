import type { EntryInfo, ObjectTable } from '@managers/refcount';
import type { ServerConnection } from './connection';

/**
 * Least authority: a connection may use `id` (call it, read it, pass it as an argument, hand
 * it off) only through a reference it holds or a lease it borrowed.
 */
export function mayUse(table: ObjectTable, connection: ServerConnection, id: number): boolean {
  return table.countOf(id, connection.holder) > 0 || connection.borrowed?.has(id) === true;
}

/** {@link mayUse} for an entry already looked up (the call path: one lookup per call). */
export function mayUseEntry(entry: EntryInfo, connection: ServerConnection): boolean {
  return entry.countOf(connection.holder) > 0 || connection.borrowed?.has(entry.id) === true;
}

/**
 * Least authority for a handoff: takes one reference per id `from` may use, for `holder`;
 * returns the ids it may not use (nothing is taken for them).
 */
export function takeReferences(
  table: ObjectTable,
  from: ServerConnection,
  holder: string,
  ids: readonly number[],
  cause: string,
): number[] {
  const refused: number[] = [];
  for (const id of ids) {
    if (mayUse(table, from, id)) table.incref(id, holder, cause, 1, 'handoff');
    else refused.push(id);
  }
  return refused;
}

/**
 * A claimer's proxies for ids the handoff holder `holder` holds no reference to (its sender
 * could not fund them) own nothing: the claimer owes as many releases of them. Counted against
 * the claim's own list `ids`, before the holder's references move to the claimer.
 */
export function oweUnfunded(
  table: ObjectTable,
  holder: string,
  claimer: ServerConnection,
  ids: readonly number[] | undefined,
): void {
  if (ids === undefined || ids.length === 0) return;
  const funded = new Map<number, number>();
  const unfunded: number[] = [];
  for (const id of ids) {
    const left = funded.get(id) ?? table.countOf(id, holder);
    if (left > 0) funded.set(id, left - 1);
    else {
      funded.set(id, 0);
      unfunded.push(id);
    }
  }
  if (unfunded.length) claimer.owe(unfunded);
}

/** Ids for a message or trace event: the first 16, then how many more (a list may be huge). */
export function describeIds(ids: readonly number[]): string {
  return ids.length <= 16
    ? ids.join(', ')
    : `${ids.slice(0, 16).join(', ')} and ${ids.length - 16} more`;
}
