// The summary table: each figure's runs, their median, the target and PASS/MISS.
import { median } from './stats.js';

/** A target from the issue: the median must be at least / at most `value`. */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

/** One line of the summary. */
export interface SummaryRow {
  figure: string;
  runs: number[];
  /** Per run: kept although other processes used the CPU during it (marked with *). */
  busy: boolean[];
  decimals: number;
  target: Target | null;
}

/** The verdict of a median against its target: how far over or under, in percent. */
export function verdict(value: number, target: Target | null): string {
  if (target === null) return '';
  const pass = target.op === '>=' ? value >= target.value : value <= target.value;
  if (pass) return 'PASS';
  const off = target.op === '>=' ? (1 - value / target.value) * 100 : (value / target.value - 1) * 100;
  return `MISS (${off.toFixed(0)}% ${target.op === '>=' ? 'short' : 'over'})`;
}

/** Renders the rows as a fixed-width text table. */
export function formatSummary(rows: SummaryRow[]): string {
  const fmt = (value: number, decimals: number) => (Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }) : 'n/a');
  const cells = rows.map((row) => {
    const mid = median(row.runs);
    return [
      row.figure,
      row.runs.map((run, i) => fmt(run, row.decimals) + (row.busy[i] ? '*' : '')).join(' | '),
      fmt(mid, row.decimals),
      row.target ? `${row.target.op === '>=' ? '≥' : '≤'} ${fmt(row.target.value, 0)}` : '—',
      verdict(mid, row.target),
    ];
  });
  const header = ['figure', 'runs', 'median', 'target', 'result'];
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) => values.map((value, i) => (i === 1 || i === 2 ? value.padStart(widths[i]!) : value.padEnd(widths[i]!))).join('  ').trimEnd();
  const table = [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.map(line)];
  if (rows.some((row) => row.busy.some(Boolean))) table.push('* measured while other processes used the CPU (repeats exhausted)');
  return table.join('\n');
}
