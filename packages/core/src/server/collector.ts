import { SERVER_HOLDER, type ObjectTable } from '@managers/refcount';
import { forEachProxy, type BaseProxy } from '@managers/proxy';

/**
 * The cycle collector for references held by the server (Python's `gc` for managed objects).
 *
 * A hosted object that holds a proxy to another hosted object (a list appended to itself, `a`
 * holding `b` holding `a`) keeps it alive through the `server` holder. When the last client
 * reference goes, such a group is held only by the server and nobody can reach it: it would
 * live until shutdown. After every release that leaves an object held only by the server,
 * the collector looks at the objects held only by the server that can be reached from it
 * (through the proxies in their own enumerable properties, arrays, Maps and Sets, as the R6
 * cascade walks them) and finds those whose every reference comes from inside that group, as
 * CPython's collector does: an object with a reference from anywhere else (a live object, a
 * proxy kept in a `#private` field or a closure that no walk can see, a call still running)
 * is alive, and so is everything it reaches. The proxies inside the garbage are released; the
 * group then reaches zero and is disposed (R6) in one operation.
 */
export class CycleCollector {
  readonly #pending = new Set<number>();
  #scheduled = false;
  #enabled = true;

  constructor(
    private readonly table: ObjectTable,
    private readonly managerId: string,
    /** Releases the proxies held by garbage (the server's references, with the cause 'cycle collected'). */
    private readonly release: (proxies: readonly BaseProxy[]) => void,
  ) {}

  /** Stops collecting (the server is shutting down). */
  stop(): void {
    this.#enabled = false;
    this.#pending.clear();
  }

  /** `id` lost a reference: look at it soon if only the server holds it now. */
  note(id: number): void {
    if (!this.#enabled || !this.table.isOnlyHeldBy(id, SERVER_HOLDER)) return;
    this.#pending.add(id);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.collect();
      }).unref();
    }
  }

  /** Collects now; returns how many objects were found unreachable. */
  collect(): number {
    if (!this.#enabled || this.#pending.size === 0) return 0;
    const candidates = new Set<number>();
    const stack = [...this.#pending];
    this.#pending.clear();
    while (stack.length) {
      const id = stack.pop()!;
      if (candidates.has(id) || !this.table.isOnlyHeldBy(id, SERVER_HOLDER)) continue;
      candidates.add(id);
      this.#proxiesOf(id, (proxy) => stack.push(proxy.token.id));
    }
    // Drop every candidate referenced from outside the group, until none is.
    for (;;) {
      const internal = new Map<number, number>();
      const seen = new Set<BaseProxy>();
      for (const id of candidates) {
        this.#proxiesOf(id, (proxy) => {
          const target = proxy.token.id;
          if (!candidates.has(target) || seen.has(proxy)) return;
          seen.add(proxy);
          internal.set(target, (internal.get(target) ?? 0) + 1);
        });
      }
      let removed = false;
      for (const id of candidates) {
        if ((internal.get(id) ?? 0) < this.table.refcount(id)) {
          candidates.delete(id);
          removed = true;
        }
      }
      if (!removed) break;
    }
    if (candidates.size === 0) return 0;
    const garbage = [...candidates];
    const proxies: BaseProxy[] = [];
    for (const id of garbage) this.#proxiesOf(id, (proxy) => proxies.push(proxy));
    this.release(proxies);
    return garbage.length;
  }

  #proxiesOf(id: number, visit: (proxy: BaseProxy) => void): void {
    const entry = this.table.get(id);
    if (entry === undefined) return;
    forEachProxy(entry.object, (proxy) => {
      if (proxy.token.manager === this.managerId && !proxy.released) visit(proxy);
    });
  }
}
