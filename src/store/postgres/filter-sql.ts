// A normalised filter as a parameterised PostgreSQL WHERE clause (tags text[], meta jsonb, uri COLLATE "C").
import type { NormalisedFilter } from '../validate.js';

export interface PgCondition {
  sql: string;
  params: unknown[];
}

/** `firstParam` is the number of the first `$n` placeholder the clause may use. */
export function filterToPgSql(filter: NormalisedFilter | undefined, firstParam: number): PgCondition {
  if (filter === undefined) return { sql: 'TRUE', params: [] };
  const parts: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  if (filter.modalities) parts.push(`modality = ANY(${param(filter.modalities)}::text[])`);
  if (filter.tagsAny) parts.push(`tags && ${param(filter.tagsAny)}::text[]`);
  if (filter.tagsAll) parts.push(`tags @> ${param(filter.tagsAll)}::text[]`);
  if (filter.uriPrefix !== undefined) parts.push(`uri LIKE ${param(`${escapeLike(filter.uriPrefix)}%`)}`);
  if (filter.meta) parts.push(`meta @> ${param(JSON.stringify(Object.fromEntries(filter.meta)))}::jsonb`);
  return { sql: parts.join(' AND '), params };
}

/** LIKE treats `%`, `_` and the escape character `\` specially; a prefix must match them literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
