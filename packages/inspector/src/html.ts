import type { TraceEvent } from '@managers/refcount';
import { escapeHtml } from './escape';
import { renderGraph } from './graph';
import { formatDuration, type InspectorSnapshot, type ObjectView } from './model';
import type { ObjectHistory } from './store';

/** The trace filters of the page (query parameters `id`, `typeid`, `holder`, `op`). */
export interface TraceFilter {
  readonly id?: number;
  readonly typeid?: string;
  readonly holder?: string;
  readonly op?: string;
}

/** How many trace rows the page renders. */
export const TRACE_ROWS = 300;
/** How many object rows the page renders (the rest are counted). */
export const OBJECT_ROWS = 1000;

const OPS = [
  'create',
  'incref',
  'decref',
  'handoff',
  'adopt',
  'release-holder',
  'dispose',
  'dispose-error',
  'reject',
];

/** True when `event` passes `filter` (id and op exact; typeid and holder: case-insensitive substring). */
export function matchesFilter(event: TraceEvent, filter: TraceFilter): boolean {
  if (filter.id !== undefined && event.id !== filter.id) return false;
  if (filter.op && event.op !== filter.op) return false;
  if (filter.typeid && !event.typeid.toLowerCase().includes(filter.typeid.toLowerCase()))
    return false;
  if (filter.holder && !event.holder.toLowerCase().includes(filter.holder.toLowerCase()))
    return false;
  return true;
}

/** Adds the token (when there is one) to a same-origin URL. */
export type LinkMaker = (path: string, params?: Record<string, string | number>) => string;

function clock(time: number): string {
  const date = new Date(time);
  const pad = (value: number, size = 2) => String(value).padStart(size, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function holderChips(holders: Readonly<Record<string, number>>): string {
  return Object.entries(holders)
    .map(
      ([holder, count]) =>
        `<span class="chip ${holder === 'server' ? 'server' : holder.startsWith('handoff:') ? 'handoff' : 'thread'}">${escapeHtml(holder)}${count > 1 ? ` ×${count}` : ''}</span>`,
    )
    .join(' ');
}

function age(since: number, now: number, exact: boolean): string {
  return `<span class="age" data-since="${since}" data-exact="${exact}">${exact ? '' : '≥ '}${formatDuration(now - since)}</span>`;
}

/** One trace row; `data-*` attributes let the page's script filter rows in place. */
export function renderTraceRow(event: TraceEvent, link: LinkMaker): string {
  const delta = event.delta > 0 ? `+${event.delta}` : String(event.delta);
  const id =
    event.id === 0
      ? '–'
      : `<a class="object-link" data-id="${event.id}" href="${link('/', { object: event.id })}#object">#${event.id}</a>`;
  return (
    `<tr class="op-${escapeHtml(event.op)}" data-seq="${event.seq}" data-id="${event.id}" data-op="${escapeHtml(event.op)}" data-typeid="${escapeHtml(event.typeid)}" data-holder="${escapeHtml(event.holder)}">` +
    `<td class="num">${event.seq}</td><td class="time">${clock(event.time)}</td><td><span class="op">${escapeHtml(event.op)}</span></td>` +
    `<td class="num">${id}</td><td>${escapeHtml(event.typeid)}</td><td>${escapeHtml(event.holder)}</td>` +
    `<td class="num">${event.delta === 0 ? '' : delta}</td><td class="num">${event.refcount}</td><td class="cause">${escapeHtml(event.cause)}</td></tr>`
  );
}

const TRACE_HEAD =
  '<thead><tr><th>seq</th><th>time</th><th>op</th><th>id</th><th>typeid</th><th>holder</th><th>Δ</th><th>refcount</th><th>cause</th></tr></thead>';

/** Trace rows, newest first. */
export function renderTraceRows(events: readonly TraceEvent[], link: LinkMaker): string {
  let rows = '';
  for (let index = events.length - 1; index >= 0; index--)
    rows += renderTraceRow(events[index]!, link);
  return rows;
}

function renderSummary(snapshot: InspectorSnapshot): string {
  const references = snapshot.objects.reduce((sum, object) => sum + object.refcount, 0);
  return (
    `<span class="stat"><b>${snapshot.objects.length}</b> live object${snapshot.objects.length === 1 ? '' : 's'}</span>` +
    `<span class="stat"><b>${references}</b> reference${references === 1 ? '' : 's'}</span>` +
    `<span class="stat"><b>${snapshot.holders.length}</b> holder${snapshot.holders.length === 1 ? '' : 's'}</span>` +
    `<span class="stat ${snapshot.warnings.length ? 'bad' : ''}"><b>${snapshot.warnings.length}</b> warning${snapshot.warnings.length === 1 ? '' : 's'}</span>` +
    (snapshot.closed ? '<span class="stat bad">manager closed</span>' : '')
  );
}

function renderWarnings(snapshot: InspectorSnapshot, link: LinkMaker): string {
  if (snapshot.warnings.length === 0) return '<p class="empty ok">No warnings.</p>';
  return `<ul class="warnings">${snapshot.warnings
    .map((warning) => {
      const target =
        warning.id !== undefined
          ? ` <a class="object-link" data-id="${warning.id}" href="${link('/', { object: warning.id })}#object">show #${warning.id}</a>`
          : warning.holder !== undefined
            ? ` <a href="${link('/', { holder: warning.holder })}#trace">its trace</a>`
            : '';
      return `<li class="warning" data-kind="${warning.kind}"><span class="kind">${warning.kind}</span> ${escapeHtml(warning.message)}${target}</li>`;
    })
    .join('')}</ul>`;
}

function renderObjects(snapshot: InspectorSnapshot, link: LinkMaker, selected?: number): string {
  if (snapshot.objects.length === 0) return '<p class="empty">No live objects.</p>';
  const rows = snapshot.objects
    .slice(0, OBJECT_ROWS)
    .map(
      (object: ObjectView) =>
        `<tr class="object-row${object.id === selected ? ' selected' : ''}" data-id="${object.id}" data-typeid="${escapeHtml(object.typeid)}">` +
        `<td class="num"><a class="object-link" data-id="${object.id}" href="${link('/', { object: object.id })}#object">#${object.id}</a></td>` +
        `<td class="typeid">${escapeHtml(object.typeid)}</td><td class="repr">${escapeHtml(object.repr)}</td>` +
        `<td class="num refcount">${object.refcount}</td><td>${holderChips(object.holders)}</td>` +
        `<td>${object.holds.map((id) => `#${id}`).join(' ')}</td>` +
        `<td class="num">${age(object.since, snapshot.now, object.exactAge)}</td></tr>`,
    )
    .join('');
  const more =
    snapshot.objects.length > OBJECT_ROWS
      ? `<p class="muted">and ${snapshot.objects.length - OBJECT_ROWS} more (see <a href="${link('/snapshot.json')}">snapshot.json</a>)</p>`
      : '';
  return `${more}<table class="objects"><thead><tr><th>id</th><th>typeid</th><th>repr</th><th>refcount</th><th>holders</th><th>holds proxies to</th><th>age</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function renderHolders(snapshot: InspectorSnapshot, link: LinkMaker): string {
  if (snapshot.holders.length === 0) return '<p class="empty">No holders.</p>';
  const rows = snapshot.holders
    .map((holder) => {
      const held = Object.entries(holder.objects)
        .map(
          ([id, count]) =>
            `<a class="object-link" data-id="${id}" href="${link('/', { object: id })}#object">#${id}</a>${count > 1 ? ` ×${count}` : ''}`,
        )
        .join(' ');
      const state = holder.gone
        ? '<span class="bad">gone</span>'
        : holder.kind === 'handoff'
          ? 'in flight'
          : holder.kind === 'server'
            ? 'in hosted objects'
            : 'connected';
      return (
        `<tr class="holder-row" data-holder="${escapeHtml(holder.holder)}" data-kind="${holder.kind}">` +
        `<td><a href="${link('/', { holder: holder.holder })}#trace">${escapeHtml(holder.holder)}</a></td><td>${holder.kind}</td><td>${state}</td>` +
        `<td class="num">${holder.references}</td><td>${held}</td>` +
        `<td class="num">${holder.since === undefined ? '' : age(holder.since, snapshot.now, true)}</td></tr>`
      );
    })
    .join('');
  return `<table class="holders"><thead><tr><th>holder</th><th>kind</th><th>state</th><th>references</th><th>objects</th><th>since</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The detail of one object: its row and the events of its life the inspector kept. */
export function renderObjectDetail(
  snapshot: InspectorSnapshot,
  id: number,
  history: ObjectHistory | undefined,
  link: LinkMaker,
): string {
  const object = snapshot.objects.find((candidate) => candidate.id === id);
  const title = object
    ? `#${id} ${escapeHtml(object.typeid)} <span class="repr">${escapeHtml(object.repr)}</span>`
    : `#${id} <span class="bad">${history?.disposed !== undefined ? 'disposed' : 'not live'}</span>`;
  const facts = object
    ? `<p>refcount <b class="refcount">${object.refcount}</b> · holders ${holderChips(object.holders)} · age ${age(object.since, snapshot.now, object.exactAge)}${
        object.holds.length
          ? ` · holds proxies to ${object.holds.map((to) => `#${to}`).join(' ')}`
          : ''
      }</p>`
    : '';
  const events = history?.events ?? [];
  const close = `<a class="close-object" href="${link('/')}">close</a>`;
  return (
    `<div class="object-detail" data-id="${id}"><h3>${title} ${close}</h3>${facts}` +
    `<p class="muted">${events.length} event${events.length === 1 ? '' : 's'} of its life seen by the inspector, newest first.</p>` +
    `<table class="trace life">${TRACE_HEAD}<tbody>${renderTraceRows(events, link)}</tbody></table></div>`
  );
}

/** The parts of the page that every state update replaces, by element id. */
export function renderSections(
  snapshot: InspectorSnapshot,
  link: LinkMaker,
  selected?: number,
): Record<string, string> {
  return {
    summary: renderSummary(snapshot),
    'warnings-body': renderWarnings(snapshot, link),
    'objects-body': renderObjects(snapshot, link, selected),
    'holders-body': renderHolders(snapshot, link),
    'graph-body': renderGraph(snapshot),
  };
}

function filterForm(filter: TraceFilter, link: LinkMaker, token: string | undefined): string {
  const options = ['', ...OPS]
    .map(
      (op) =>
        `<option value="${op}"${op === (filter.op ?? '') ? ' selected' : ''}>${op || 'any op'}</option>`,
    )
    .join('');
  return (
    `<form class="filters" id="filters" method="get" action="${link('/').split('?')[0]}#trace">` +
    (token ? `<input type="hidden" name="token" value="${escapeHtml(token)}">` : '') +
    `<label>id <input name="id" inputmode="numeric" size="5" value="${filter.id ?? ''}"></label>` +
    `<label>typeid <input name="typeid" size="12" value="${escapeHtml(filter.typeid ?? '')}"></label>` +
    `<label>holder <input name="holder" size="14" value="${escapeHtml(filter.holder ?? '')}"></label>` +
    `<label>op <select name="op">${options}</select></label>` +
    `<button type="submit">filter</button> <a href="${link('/')}#trace">clear</a></form>`
  );
}

/** The whole page, rendered on the server (it reads fully without JavaScript). */
export function renderPage(options: {
  snapshot: InspectorSnapshot;
  link: LinkMaker;
  token: string | undefined;
  filter: TraceFilter;
  selected?: number;
  history?: ObjectHistory;
}): string {
  const { snapshot, link, filter, selected } = options;
  const sections = renderSections(snapshot, link, selected);
  const events = snapshot.trace.filter((event) => matchesFilter(event, filter));
  const shown = events.slice(-TRACE_ROWS);
  const detail =
    selected === undefined
      ? '<p class="empty">Click an object (or an id in the trace) to see every event of its life.</p>'
      : renderObjectDetail(snapshot, selected, options.history, link);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(snapshot.name)} · @managers inspector</title>
<link rel="stylesheet" href="${link('/page.css')}">
<script src="${link('/page.js')}" defer></script>
</head><body data-last-seq="${snapshot.trace.at(-1)?.seq ?? 0}" data-events="${link('/events')}" data-object-url="${link('/object')}" data-selected="${selected ?? ''}">
<header><h1>${escapeHtml(snapshot.name)} <small>@managers inspector</small></h1>
<div id="summary" class="summary">${sections.summary}</div>
<span id="live" class="live" title="live updates by Server-Sent Events">static page (JavaScript off)</span></header>
<main>
<section id="warnings"><h2>Warnings</h2><div id="warnings-body">${sections['warnings-body']}</div></section>
<section id="objects"><h2>Live objects</h2><div id="objects-body">${sections['objects-body']}</div></section>
<div class="columns">
<section id="holders"><h2>Threads and connections</h2><div id="holders-body">${sections['holders-body']}</div></section>
<section id="object"><h2>Object</h2><div id="object-body">${detail}</div></section>
</div>
<section id="graph"><h2>Graph: threads → objects → server-side proxies</h2><div id="graph-body" class="graph-body">${sections['graph-body']}</div></section>
<section id="trace"><h2>Trace <small id="trace-count">${shown.length} of ${snapshot.trace.length} events</small></h2>
${filterForm(filter, link, options.token)}
<table class="trace timeline">${TRACE_HEAD}<tbody id="trace-body">${renderTraceRows(shown, link)}</tbody></table>
</section>
</main>
<footer>Served by @managers/inspector from the manager's own thread: no asset comes from the internet. Updates are driven by the manager's trace.</footer>
</body></html>
`;
}
