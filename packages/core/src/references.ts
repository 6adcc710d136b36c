import type { ObjectTable } from '@managers/refcount';
import { forEachProxy } from '@managers/proxy';

/**
 * One edge of the object graph: hosted object `from` holds `count` server-side proxies to
 * hosted object `to` (their references belong to the `server` holder).
 */
export interface ServerReference {
  readonly from: number;
  readonly to: number;
  readonly count: number;
}

/**
 * The server-side proxies each hosted object holds, found as R6 finds them when it disposes
 * the object: through own enumerable properties, arrays, Maps and Sets (not private fields or
 * closures). Released proxies and proxies of other managers are left out.
 */
export function serverReferences(table: ObjectTable, managerId: string): ServerReference[] {
  const references: ServerReference[] = [];
  for (const { id } of table.entries()) {
    const entry = table.get(id);
    if (entry === undefined) continue;
    const counts = new Map<number, number>();
    forEachProxy(entry.object, (proxy) => {
      if (proxy.released || proxy.token.manager !== managerId) return;
      counts.set(proxy.token.id, (counts.get(proxy.token.id) ?? 0) + 1);
    });
    for (const [to, count] of counts) references.push({ from: id, to, count });
  }
  return references;
}
