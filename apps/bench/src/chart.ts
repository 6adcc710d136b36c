/** A self-contained SVG bar chart of the ratios (hand-written, no dependency). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatRatio, type Header, type Section } from './report';

function escape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Parses `≤ 1.2× raw` / `≥ 10× Python` into a bound. */
function targetBound(target: string | undefined): { op: '≤' | '≥'; value: number } | undefined {
  const match = target === undefined ? null : /^([≤≥])\s*([\d.]+)×/.exec(target);
  return match ? { op: match[1] as '≤' | '≥', value: Number(match[2]) } : undefined;
}

/**
 * One horizontal bar per row that has a ratio, on a log scale centred on 1×. Bars of rows
 * with a target are green when met and red when missed, the target is a dashed tick; the
 * rest are grey.
 */
export function renderChart(header: Header, sections: readonly Section[]): string {
  const bars = sections.flatMap((section) =>
    section.rows
      .filter((row) => row.ratio !== undefined && Number.isFinite(row.ratio) && row.ratio > 0)
      .map((row) => ({ section, row })),
  );
  const labelWidth = 430;
  const plotWidth = 520;
  const barHeight = 18;
  const gap = 6;
  const top = 64;
  const height = top + bars.length * (barHeight + gap) + 40;
  const width = labelWidth + plotWidth + 170;
  const ratios = bars.flatMap(({ row }) => [row.ratio!, targetBound(row.target)?.value ?? 1]);
  const lo = Math.floor(Math.log10(Math.min(1, ...ratios)));
  const hi = Math.ceil(Math.log10(Math.max(1, ...ratios)));
  const span = Math.max(1, hi - lo);
  const x = (ratio: number) => labelWidth + ((Math.log10(ratio) - lo) / span) * plotWidth;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">@managers bench — ratios to the baseline (log scale)</text>`,
    `<text x="10" y="38" fill="#555">${escape(`node ${header.node}, nproc ${header.nproc}, pinning ${header.pinned}, ${header.mode} run, ${header.date}`)}</text>`,
    `<text x="10" y="54" fill="#555">time rows: lower is better; /s rows: higher is better. Green: target met, red: missed, dashed: target.</text>`,
  );
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p);
    out.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 30}" stroke="${p === 0 ? '#333' : '#ddd'}"/>`,
      `<text x="${gx}" y="${height - 14}" text-anchor="middle" fill="#555">${escape(p >= 0 ? `${10 ** p}×` : `${(10 ** p).toFixed(-p)}×`)}</text>`,
    );
  }
  bars.forEach(({ section, row }, index) => {
    const y = top + index * (barHeight + gap);
    const one = x(1);
    const end = x(row.ratio!);
    const color = row.met === undefined ? '#9aa5b1' : row.met ? '#2e9e5b' : '#d64545';
    const label = `${section.id}. ${row.variant}`;
    out.push(
      `<text x="${labelWidth - 8}" y="${y + barHeight - 5}" text-anchor="end">${escape(label.length > 66 ? `${label.slice(0, 65)}…` : label)}</text>`,
      `<rect x="${Math.min(one, end)}" y="${y}" width="${Math.max(1, Math.abs(end - one))}" height="${barHeight}" fill="${color}"><title>${escape(`${label}: ${row.display}, ${formatRatio(row)}`)}</title></rect>`,
      `<text x="${labelWidth + plotWidth + 8}" y="${y + barHeight - 5}">${escape(`${formatRatio(row)}${row.target ? `  (${row.target})` : ''}`)}</text>`,
    );
    const bound = targetBound(row.target);
    if (bound !== undefined) {
      const tx = x(bound.value);
      out.push(
        `<line x1="${tx}" y1="${y - 2}" x2="${tx}" y2="${y + barHeight + 2}" stroke="#000" stroke-width="2" stroke-dasharray="3,2"/>`,
      );
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function writeChart(path: string, header: Header, sections: readonly Section[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderChart(header, sections));
}
