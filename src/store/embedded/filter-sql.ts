// A normalised filter as an SQLite WHERE clause over `items AS i`, driven by the tag/meta side tables' indexes.
import type { NormalisedFilter } from '../validate.js';

export interface SqlCondition {
  sql: string;
  params: (string | number)[];
}

export function filterToSql(filter: NormalisedFilter | undefined): SqlCondition {
  if (filter === undefined) return { sql: '1', params: [] };
  const parts: string[] = [];
  const params: (string | number)[] = [];
  const list = (values: readonly string[]) => {
    params.push(...values);
    return values.map(() => '?').join(', ');
  };
  if (filter.modalities) parts.push(`i.modality IN (${list(filter.modalities)})`);
  if (filter.tagsAny)
    parts.push(`i.rid IN (SELECT rid FROM item_tags WHERE tag IN (${list(filter.tagsAny)}))`);
  for (const tag of filter.tagsAll ?? []) {
    parts.push('i.rid IN (SELECT rid FROM item_tags WHERE tag = ?)');
    params.push(tag);
  }
  if (filter.uriPrefix !== undefined) {
    // A range on the uri index; BINARY collation compares UTF-8 bytes, which follows code point order.
    const upper = prefixUpperBound(filter.uriPrefix);
    parts.push(upper === undefined ? 'i.uri >= ?' : 'i.uri >= ? AND i.uri < ?');
    params.push(filter.uriPrefix);
    if (upper !== undefined) params.push(upper);
  }
  for (const [key, value] of filter.meta ?? []) {
    parts.push('i.rid IN (SELECT rid FROM item_meta WHERE key = ? AND kind = ? AND value = ?)');
    params.push(key, ...metaColumns(value));
  }
  return { sql: parts.join(' AND '), params };
}

/** How a meta value is kept in `item_meta`: a kind letter so `1`, `true` and `'1'` never compare equal. */
export function metaColumns(value: string | number | boolean): [kind: string, value: string | number] {
  if (typeof value === 'string') return ['s', value];
  if (typeof value === 'number') return ['n', value];
  return ['b', value ? 1 : 0];
}

/** The smallest string greater than every string that starts with `prefix`; undefined when there is none. */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) {
      points.push(last + 1 === 0xd800 ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}
