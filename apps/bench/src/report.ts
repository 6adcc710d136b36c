/** Rows of the result table, the text table, and the JSON file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatNs } from './measure';

/** How to read a row's ratio: time ÷ baseline time, or rate ÷ baseline rate. */
export type RatioKind = 'time' | 'rate';

export interface Row {
  readonly variant: string;
  /** The figure as printed (`8.1 µs`, `512,000/s`, `96 bytes`). */
  readonly display: string;
  /** The figure as a number, in `unit`. */
  readonly value: number;
  readonly unit: 'ns/op' | 'ops/s' | 'bytes' | 'ns/pair';
  /** This row's figure relative to `baseline` (kind tells the direction). */
  readonly ratio?: number;
  readonly ratioKind?: RatioKind;
  readonly baseline?: string;
  /** A target, e.g. `≤ 1.2× raw`, with whether it was met. */
  readonly target?: string;
  readonly met?: boolean;
  readonly note?: string;
}

/**
 * A per-call row (`ns/op`) whose ratio is time ÷ the `baseline`'s time; with `atMost`, it
 * carries the target `≤ atMost× baseline` and whether it was met.
 */
export function timeRow(
  variant: string,
  nsPerOp: number,
  ratio: number,
  baseline: string,
  atMost?: number,
): Row {
  const row: Row = {
    variant,
    display: formatNs(nsPerOp),
    value: nsPerOp,
    unit: 'ns/op',
    ratio,
    ratioKind: 'time',
    baseline,
  };
  return atMost === undefined
    ? row
    : { ...row, target: `≤ ${atMost}× ${baseline}`, met: ratio <= atMost };
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly rows: Row[];
  /** Why the workload did not run (the rows are then empty). */
  skipped?: string;
  /** Extra lines printed under the section. */
  readonly notes: string[];
}

export interface Header {
  readonly date: string;
  readonly node: string;
  readonly nproc: string;
  readonly cpus: number;
  readonly pinned: string;
  readonly mode: 'quick' | 'full';
  readonly platform: string;
}

export function formatRatio(row: Row): string {
  if (row.ratio === undefined || !Number.isFinite(row.ratio)) return '';
  const digits = row.ratio >= 100 ? 0 : row.ratio >= 10 ? 1 : row.ratio >= 0.01 ? 2 : 4;
  return `${row.ratio.toFixed(digits)}× ${row.baseline ?? ''}`.trimEnd();
}

/** The table as text. */
export function formatTable(
  header: Header,
  sections: readonly Section[],
  elapsedMs: number,
): string {
  const lines: string[] = [];
  lines.push(
    `@managers bench (${header.mode}) — node ${header.node}, nproc ${header.nproc} (os cpus ${header.cpus}), ${header.platform}, pinning: ${header.pinned}, ${header.date}`,
  );
  lines.push(
    'ratio: time ÷ baseline time for per-call rows, rate ÷ baseline rate for /s rows; median of interleaved chunks (per-chunk pairs for ratios)',
  );
  const columns = ['workload', 'variant', 'median', 'ratio', 'target', 'met?'];
  const body: string[][] = [];
  const separators = new Set<number>();
  for (const section of sections) {
    separators.add(body.length);
    const title = `${section.id}. ${section.title}`;
    if (section.skipped !== undefined && section.rows.length === 0) {
      body.push([title, `skipped: ${section.skipped}`, '', '', '', '']);
      continue;
    }
    section.rows.forEach((row, index) => {
      body.push([
        index === 0 ? title : '',
        row.variant + (row.note ? ` (${row.note})` : ''),
        row.display,
        formatRatio(row),
        row.target ?? '',
        row.met === undefined ? '' : row.met ? 'yes' : 'NO',
      ]);
    });
    if (section.skipped !== undefined)
      body.push(['', `partly skipped: ${section.skipped}`, '', '', '', '']);
  }
  const widths = columns.map((name, c) =>
    Math.max(
      name.length,
      ...body.filter((r) => !r[1]!.includes('skipped')).map((r) => r[c]!.length),
    ),
  );
  const format = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 2 || c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  lines.push(format(columns), rule);
  body.forEach((cells, index) => {
    if (index > 0 && separators.has(index)) lines.push('');
    lines.push(
      cells[1]!.includes('skipped')
        ? `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]}`.trimEnd()
        : format(cells),
    );
  });
  const notes = sections.flatMap((s) => s.notes.map((n) => `  [${s.id}] ${n}`));
  if (notes.length) lines.push('', 'notes:', ...notes);
  const targets = sections.flatMap((s) => s.rows.filter((r) => r.met !== undefined));
  const missed = targets.filter((r) => !r.met);
  lines.push(
    '',
    `targets: ${targets.length - missed.length}/${targets.length} met${
      missed.length
        ? `; missed: ${missed.map((r) => `${sectionOf(sections, r)} ${r.variant}`).join(', ')}`
        : ''
    }; ${(elapsedMs / 1000).toFixed(1)} s`,
  );
  return lines.join('\n');
}

function sectionOf(sections: readonly Section[], row: Row): string {
  return sections.find((s) => s.rows.includes(row))?.id ?? '?';
}

export function writeJson(
  path: string,
  header: Header,
  sections: readonly Section[],
  extra: object,
): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ header, sections, ...extra }, null, 2)}\n`);
}
