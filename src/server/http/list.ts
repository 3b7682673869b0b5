import type { FastifyReply } from 'fastify';
import { EXPORT_LIMIT, type Page, type PageRequest } from '../db/paging.js';
import { sendCsv } from './csv.js';

/** Answers a list request as a JSON page, or as CSV with every matching row. */
export async function answerList<T>(
  reply: FastifyReply,
  q: { limit: number; cursor?: string | undefined; format: 'json' | 'csv' },
  fetch: (page: PageRequest) => Promise<Page<T>>,
  csv: { name: string; row: (item: T) => Record<string, unknown> },
): Promise<unknown> {
  if (q.format === 'csv') {
    const all = await fetch({ limit: EXPORT_LIMIT });
    return sendCsv(reply, csv.name, all.items.map(csv.row));
  }
  return fetch({ limit: q.limit, cursor: q.cursor });
}
