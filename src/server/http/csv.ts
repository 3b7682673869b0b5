import { stringify } from 'csv-stringify/sync';
import type { FastifyReply } from 'fastify';

/** Cells that a spreadsheet would run as a formula get a leading quote (CSV injection). */
export function neutralize(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = Array.isArray(value) ? value.join(';') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

export function toCsv(rows: Record<string, unknown>[], columns?: string[]): string {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  return stringify(
    rows.map((r) => cols.map((c) => neutralize(r[c]))),
    { header: true, columns: cols, record_delimiter: '\r\n' },
  );
}

export function sendCsv(reply: FastifyReply, name: string, rows: Record<string, unknown>[], columns?: string[]) {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}-${day}.csv"`)
    .send(toCsv(rows, columns));
}
