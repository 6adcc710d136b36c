import type { DebugEntry, TraceEvent } from '@managers/refcount';
import type { ServerReference } from '@managers/core';
import type { WarningSettings } from './options';
import type { TraceStore } from './store';

/** The holder that owns the references of server-side proxies (proxies inside hosted objects). */
export const SERVER = 'server';
const HANDOFF_PREFIX = 'handoff:';

/** What kind of holder a name is. */
export type HolderKind = 'thread' | 'handoff' | 'server';

/** One live object as the page shows it. */
export interface ObjectView {
  readonly id: number;
  readonly typeid: string;
  readonly repr: string;
  readonly refcount: number;
  readonly holders: Readonly<Record<string, number>>;
  /** Its creation time when known, else when the inspector first saw it (`exactAge` false). */
  readonly since: number;
  readonly exactAge: boolean;
  /** Ids of the objects it holds server-side proxies to. */
  readonly holds: readonly number[];
}

/** One holder (a thread's connection, a handoff in flight, or the server). */
export interface HolderView {
  readonly holder: string;
  readonly kind: HolderKind;
  /** Object id → references held. */
  readonly objects: Readonly<Record<number, number>>;
  readonly references: number;
  readonly since: number | undefined;
  /** True when its connection closed (a release-holder event) yet it still holds references. */
  readonly gone: boolean;
}

/** What a warning is about. */
export type WarningKind = 'server-only' | 'gone-holder' | 'unadopted-handoff' | 'growing';

/** Something a user hunting a leak wants to see. */
export interface Warning {
  readonly kind: WarningKind;
  readonly message: string;
  readonly id?: number;
  readonly holder?: string;
}

/** Everything the page shows, at one instant. */
export interface InspectorSnapshot {
  readonly name: string;
  readonly now: number;
  readonly closed: boolean;
  readonly objects: readonly ObjectView[];
  readonly holders: readonly HolderView[];
  readonly references: readonly ServerReference[];
  /** Object ids that lie on a cycle of server-side proxies. */
  readonly cyclic: readonly number[];
  readonly warnings: readonly Warning[];
  readonly trace: readonly TraceEvent[];
}

/** The kind of holder `holder` names. */
export function holderKind(holder: string): HolderKind {
  if (holder === SERVER) return 'server';
  if (holder.startsWith(HANDOFF_PREFIX)) return 'handoff';
  return 'thread';
}

/** Ids on a cycle of the graph `edges` (Tarjan's strongly connected components, plus self-loops). */
export function cyclicIds(edges: readonly ServerReference[]): Set<number> {
  const next = new Map<number, number[]>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, []);
    next.get(from)!.push(to);
  }
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const stack: number[] = [];
  const onStack = new Set<number>();
  const cyclic = new Set<number>();
  let counter = 0;
  const visit = (node: number): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (to === node) cyclic.add(node);
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: number[] = [];
      let member: number;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) for (const id of component) cyclic.add(id);
    }
  };
  for (const node of next.keys()) if (!index.has(node)) visit(node);
  return cyclic;
}

/** Builds what the page shows from the manager's entries and references and the stored trace. */
export function buildSnapshot(
  name: string,
  entries: readonly DebugEntry[],
  references: readonly ServerReference[],
  store: TraceStore,
  settings: WarningSettings,
  now: number,
  closed = false,
): InspectorSnapshot {
  const live = new Set(entries.map((entry) => entry.id));
  const edges = references.filter((edge) => live.has(edge.from) && live.has(edge.to));
  const holds = new Map<number, number[]>();
  for (const edge of edges) {
    if (!holds.has(edge.from)) holds.set(edge.from, []);
    holds.get(edge.from)!.push(edge.to);
  }
  const objects: ObjectView[] = [...entries]
    .sort((a, b) => a.id - b.id)
    .map((entry) => {
      store.seen(entry.id, now);
      const history = store.object(entry.id)!;
      return {
        id: entry.id,
        typeid: entry.typeid,
        repr: entry.repr,
        refcount: entry.refcount,
        holders: entry.holders,
        since: history.created ?? history.firstSeen,
        exactAge: history.created !== undefined,
        holds: holds.get(entry.id) ?? [],
      };
    });
  const byHolder = new Map<string, Record<number, number>>();
  for (const object of objects) {
    for (const [holder, count] of Object.entries(object.holders)) {
      if (!byHolder.has(holder)) byHolder.set(holder, {});
      byHolder.get(holder)![object.id] = count;
    }
  }
  const holders: HolderView[] = [...byHolder]
    .map(([holder, held]) => {
      const ended = store.holderEnded(holder);
      return {
        holder,
        kind: holderKind(holder),
        objects: held,
        references: Object.values(held).reduce((sum, count) => sum + count, 0),
        since: store.holderSince(holder),
        gone: ended !== undefined,
      };
    })
    .sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind) || a.holder.localeCompare(b.holder));
  const cyclic = cyclicIds(edges);
  const reachable = reachableIds(objects);
  return {
    name,
    now,
    closed,
    objects,
    holders,
    references: edges,
    cyclic: [...cyclic].sort((a, b) => a - b),
    warnings: computeWarnings(objects, holders, { cyclic, reachable }, store, settings, now),
    trace: store.events(),
  };
}

/** Ids a thread reaches: objects a thread holds, and those their server-side proxies lead to. */
export function reachableIds(objects: readonly ObjectView[]): Set<number> {
  const byId = new Map(objects.map((object) => [object.id, object]));
  const reached = new Set<number>();
  const queue = objects
    .filter((object) => Object.keys(object.holders).some((holder) => holder !== SERVER))
    .map((object) => object.id);
  while (queue.length) {
    const id = queue.pop()!;
    if (reached.has(id)) continue;
    reached.add(id);
    queue.push(...(byId.get(id)?.holds ?? []));
  }
  return reached;
}

function kindOrder(kind: HolderKind): number {
  return kind === 'thread' ? 0 : kind === 'handoff' ? 1 : 2;
}

/**
 * The warnings: objects only the server holds (nothing outside the server can reach them: a
 * leak until shutdown, often a cycle), holders still listed after their connection closed,
 * handoffs not adopted within `handoffWarningMs`, and refcounts that grew
 * `growthWarningCount` times and never dropped.
 */
export function computeWarnings(
  objects: readonly ObjectView[],
  holders: readonly HolderView[],
  graph: { readonly cyclic: ReadonlySet<number>; readonly reachable: ReadonlySet<number> },
  store: TraceStore,
  settings: WarningSettings,
  now: number,
): Warning[] {
  const warnings: Warning[] = [];
  const holdersOf = new Map<number, number[]>();
  for (const object of objects) {
    for (const to of object.holds) {
      if (!holdersOf.has(to)) holdersOf.set(to, []);
      holdersOf.get(to)!.push(object.id);
    }
  }
  for (const object of objects) {
    const names = Object.keys(object.holders);
    if (names.length === 1 && names[0] === SERVER) {
      const inside = (holdersOf.get(object.id) ?? []).map((id) => `#${id}`).join(', ');
      const where = inside ? `proxies inside ${inside}` : 'proxies inside hosted objects';
      const cycle = graph.cyclic.has(object.id) ? ', on a cycle' : '';
      warnings.push({
        kind: 'server-only',
        id: object.id,
        message: graph.reachable.has(object.id)
          ? `#${object.id} ${object.typeid} is held only by the server (${where})${cycle}: it lives as long as they hold it`
          : `#${object.id} ${object.typeid} is held only by the server (${where})${cycle}: no thread can reach it, so it lives until shutdown`,
      });
    }
  }
  for (const holder of holders) {
    if (holder.gone) {
      warnings.push({
        kind: 'gone-holder',
        holder: holder.holder,
        message: `${holder.holder} is gone (its connection closed) but still holds ${holder.references} reference(s)`,
      });
    }
    if (holder.kind === 'handoff' && holder.since !== undefined) {
      const age = now - holder.since;
      if (age >= settings.handoffWarningMs) {
        warnings.push({
          kind: 'unadopted-handoff',
          holder: holder.holder,
          message: `${holder.holder} was handed off ${formatDuration(age)} ago and never adopted (the receiving thread has not read the message)`,
        });
      }
    }
  }
  for (const object of objects) {
    const history = store.object(object.id);
    if (
      history !== undefined &&
      history.decrements === 0 &&
      history.increments >= settings.growthWarningCount
    ) {
      warnings.push({
        kind: 'growing',
        id: object.id,
        message: `the refcount of #${object.id} ${object.typeid} grew ${history.increments} times and never dropped (now ${object.refcount}): a proxy is taken and never released?`,
      });
    }
  }
  return warnings;
}

/** When the next unadopted handoff crosses the warning threshold (undefined: none pending). */
export function nextHandoffDeadline(
  holders: readonly HolderView[],
  settings: WarningSettings,
  now: number,
): number | undefined {
  let next: number | undefined;
  for (const holder of holders) {
    if (holder.kind !== 'handoff' || holder.since === undefined) continue;
    const due = holder.since + settings.handoffWarningMs;
    if (due > now && (next === undefined || due < next)) next = due;
  }
  return next;
}

/** `850 ms`, `12.3 s`, `4 min 10 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.floor((ms % 3_600_000) / 60_000)} min`;
}
