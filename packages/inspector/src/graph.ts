import { escapeHtml } from './escape';
import type { InspectorSnapshot } from './model';

const COLUMN = 230;
const ROW = 40;
const NODE_WIDTH = 180;
const NODE_HEIGHT = 28;
const MARGIN = 16;
/** Beyond this many objects the graph is not drawn (it would not read). */
const GRAPH_LIMIT = 300;

interface Node {
  readonly key: string;
  readonly label: string;
  readonly title: string;
  readonly kind: 'holder' | 'object';
  readonly className: string;
  column: number;
  row: number;
}

/**
 * The graph of threads → objects → server-side proxies as inline SVG (no script needed):
 * holders in the first column, each object one column right of its nearest holder (through
 * server-side proxies), objects no thread reaches in the last column. Edges on a cycle are drawn
 * in the warning colour.
 */
export function renderGraph(snapshot: InspectorSnapshot): string {
  const holders = snapshot.holders.filter((holder) => holder.kind !== 'server');
  if (snapshot.objects.length === 0) return '<p class="empty">No live objects.</p>';
  if (snapshot.objects.length > GRAPH_LIMIT)
    return `<p class="empty">${snapshot.objects.length} objects: the graph is drawn up to ${GRAPH_LIMIT}.</p>`;
  const nodes = new Map<string, Node>();
  for (const holder of holders) {
    nodes.set(`h:${holder.holder}`, {
      key: `h:${holder.holder}`,
      label: holder.holder,
      title: `${holder.holder}: ${holder.references} reference(s)`,
      kind: 'holder',
      className: `node holder ${holder.kind}${holder.gone ? ' gone' : ''}`,
      column: 0,
      row: 0,
    });
  }
  const cyclic = new Set(snapshot.cyclic);
  // Breadth-first from the objects threads hold, along server-side proxies.
  const depth = new Map<number, number>();
  const queue: number[] = [];
  for (const object of snapshot.objects) {
    if (Object.keys(object.holders).some((holder) => holder !== 'server')) {
      depth.set(object.id, 1);
      queue.push(object.id);
    }
  }
  const byId = new Map(snapshot.objects.map((object) => [object.id, object]));
  while (queue.length) {
    const id = queue.shift()!;
    for (const to of byId.get(id)?.holds ?? []) {
      if (!depth.has(to)) {
        depth.set(to, depth.get(id)! + 1);
        queue.push(to);
      }
    }
  }
  const deepest = Math.max(1, ...depth.values());
  for (const object of snapshot.objects) {
    const column = depth.get(object.id) ?? deepest + 1;
    const unreachable = !depth.has(object.id);
    nodes.set(`o:${object.id}`, {
      key: `o:${object.id}`,
      label: `#${object.id} ${object.typeid}`,
      title: `#${object.id} ${object.typeid} refcount ${object.refcount}: ${object.repr}`,
      kind: 'object',
      className: `node object${unreachable ? ' unreachable' : ''}${cyclic.has(object.id) ? ' cyclic' : ''}`,
      column,
      row: 0,
    });
  }
  const rows = new Map<number, number>();
  for (const node of nodes.values()) {
    node.row = rows.get(node.column) ?? 0;
    rows.set(node.column, node.row + 1);
  }
  const columns = Math.max(...[...nodes.values()].map((node) => node.column)) + 1;
  const width = MARGIN * 2 + (columns - 1) * COLUMN + NODE_WIDTH;
  const height = MARGIN * 2 + Math.max(...rows.values()) * ROW;
  const x = (node: Node) => MARGIN + node.column * COLUMN;
  const y = (node: Node) => MARGIN + node.row * ROW;
  const edges: string[] = [];
  const edge = (from: Node, to: Node, label: string, className: string, title: string) => {
    const x1 = x(from) + NODE_WIDTH;
    const y1 = y(from) + NODE_HEIGHT / 2;
    let x2 = x(to);
    const y2 = y(to) + NODE_HEIGHT / 2;
    let path: string;
    if (to.column > from.column) {
      const bend = (x2 - x1) / 2;
      path = `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
    } else if (to === from) {
      path = `M${x1},${y1 - 6} c40,-30 40,30 0,12`;
      x2 = x1 + 30;
    } else {
      // Back or sideways (a cycle): loop around the right side.
      x2 = x(to) + NODE_WIDTH;
      const reach = Math.max(x1, x2) + 40 + Math.abs(y2 - y1) / 4;
      path = `M${x1},${y1} C${reach},${y1} ${reach},${y2} ${x2},${y2}`;
    }
    edges.push(
      `<g class="${className}"><title>${escapeHtml(title)}</title><path d="${path}" marker-end="url(#arrow)"/>` +
        (label
          ? `<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 3}">${escapeHtml(label)}</text>`
          : '') +
        '</g>',
    );
  };
  for (const object of snapshot.objects) {
    const target = nodes.get(`o:${object.id}`)!;
    for (const [holder, count] of Object.entries(object.holders)) {
      const source = nodes.get(`h:${holder}`);
      if (source !== undefined)
        edge(source, target, count > 1 ? `×${count}` : '', 'edge held', `${holder} holds ${count}`);
    }
  }
  for (const reference of snapshot.references) {
    const from = nodes.get(`o:${reference.from}`);
    const to = nodes.get(`o:${reference.to}`);
    if (from === undefined || to === undefined) continue;
    const onCycle = cyclic.has(reference.from) && cyclic.has(reference.to);
    edge(
      from,
      to,
      reference.count > 1 ? `×${reference.count}` : '',
      `edge proxy${onCycle ? ' cyclic' : ''}`,
      `#${reference.from} holds ${reference.count} server-side prox${reference.count > 1 ? 'ies' : 'y'} to #${reference.to}`,
    );
  }
  const boxes = [...nodes.values()].map((node) => {
    const label = node.label.length > 26 ? `${node.label.slice(0, 25)}…` : node.label;
    const id = node.kind === 'object' ? ` data-id="${node.key.slice(2)}"` : '';
    return (
      `<g class="${node.className}"${id}><title>${escapeHtml(node.title)}</title>` +
      `<rect x="${x(node)}" y="${y(node)}" width="${NODE_WIDTH}" height="${NODE_HEIGHT}" rx="6"/>` +
      `<text x="${x(node) + 10}" y="${y(node) + 18}">${escapeHtml(label)}</text></g>`
    );
  });
  const heads = [
    `<text class="column-head" x="${MARGIN}" y="11">threads / connections</text>`,
    `<text class="column-head" x="${MARGIN + COLUMN}" y="11">objects they hold</text>`,
  ];
  if (columns > 2)
    heads.push(
      `<text class="column-head" x="${MARGIN + 2 * COLUMN}" y="11">held through server-side proxies</text>`,
    );
  return (
    `<svg class="graph" role="img" aria-label="object graph" width="${width + 80}" height="${height + 8}" viewBox="0 0 ${width + 80} ${height + 8}" xmlns="http://www.w3.org/2000/svg">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>' +
    heads.join('') +
    `<g transform="translate(0,6)">${edges.join('')}${boxes.join('')}</g></svg>`
  );
}
