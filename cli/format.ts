// Output helpers shared by the commands that print data: aligned tables for people, JSON for
// scripts (`--json`). Data goes to stdout; diagnostics go to stderr.

/** Writes `value` as pretty JSON plus a newline. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A table cell: null and undefined print as `-`. */
export type Cell = string | number | boolean | null | undefined;

/**
 * Formats rows under upper-case headers, columns padded to their widest cell, two spaces apart.
 * The last column is not padded, so long messages do not leave trailing blanks.
 *
 * @example formatTable(['NAME', 'STATE'], [['etl', 'SUCCESS']]) // 'NAME  STATE\netl   SUCCESS\n'
 */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = [headers, ...rows.map((row) => headers.map((_, index) => cellText(row[index])))];
  const widths = headers.map((_, column) => Math.max(...text.map((row) => (row[column] ?? '').length)));
  return text
    .map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : (cell ?? '').padEnd(widths[column] ?? 0))).join('  ').trimEnd())
    .join('\n')
    .concat('\n');
}

/**
 * Prints a table, or `empty` when there are no rows: to stderr for a whole listing (stdout stays
 * empty for scripts), to stdout for a section inside a larger report (`emptyTo: 'stdout'`).
 */
export function printTable(headers: string[], rows: Cell[][], empty = 'nothing to show', { emptyTo = 'stderr' }: { emptyTo?: 'stdout' | 'stderr' } = {}): void {
  if (rows.length === 0) {
    (emptyTo === 'stdout' ? process.stdout : process.stderr).write(`${empty}\n`);
    return;
  }
  process.stdout.write(formatTable(headers, rows));
}

/** Prints `label: value` pairs aligned on the colon (one object's details). */
export function printFields(fields: [label: string, value: Cell][]): void {
  const width = Math.max(...fields.map(([label]) => label.length));
  process.stdout.write(fields.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${cellText(value)}`).join('\n').concat('\n'));
}

/** An ISO instant shortened for a table (`2026-11-26 09:05:52Z`); `-` when absent. */
export function formatInstant(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A duration between two instants (`1.2s`, `3m04s`, `2h05m`), or `-`. */
export function formatDuration(fromIso: string | null | undefined, toIso: string | null | undefined): string {
  if (!fromIso || !toIso) return '-';
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/\s*\n\s*/g, ' ');
}
