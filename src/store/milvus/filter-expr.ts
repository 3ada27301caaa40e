// A normalised filter as a Milvus boolean expression over the scalar, array and JSON fields of a collection.
import type { MetaValue } from '../store.js';
import type { NormalisedFilter } from '../validate.js';

/** `undefined` when nothing constrains (Milvus takes an empty expression as "every row"). */
export function filterToMilvusExpr(filter: NormalisedFilter | undefined): string | undefined {
  if (filter === undefined) return undefined;
  const parts: string[] = [];
  if (filter.modalities) parts.push(`modality in ${stringList(filter.modalities)}`);
  if (filter.tagsAny) parts.push(`array_contains_any(tags, ${stringList(filter.tagsAny)})`);
  if (filter.tagsAll) parts.push(`array_contains_all(tags, ${stringList(filter.tagsAll)})`);
  if (filter.uriPrefix !== undefined) parts.push(prefixRange('uri', filter.uriPrefix));
  // Typed copies (`s:` / `n:` / `b:` + value) make `1`, `true` and `'1'` different keys on every server.
  for (const [key, value] of filter.meta ?? [])
    parts.push(`meta_typed[${quote(key)}] == ${quote(typedMeta(value))}`);
  return parts.map((p) => `(${p})`).join(' and ');
}

/** The exact-match form of a meta value, stored beside `meta` in `meta_typed`. */
export function typedMeta(value: MetaValue): string {
  return `${typeof value === 'string' ? 's' : typeof value === 'number' ? 'n' : 'b'}:${value}`;
}

/** `field` starts with `prefix`, as a range on code points: no LIKE wildcard can be misread. */
function prefixRange(field: string, prefix: string): string {
  const upper = successor(prefix);
  const lower = `${field} >= ${quote(prefix)}`;
  return upper === undefined ? lower : `${lower} and ${field} < ${quote(upper)}`;
}

/** The smallest string greater than every string starting with `prefix` (code point order), if any. */
function successor(prefix: string): string | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (points.length > 0) {
    let last = (points.pop() as number) + 1;
    if (last === 0xd800) last = 0xe000; // surrogates are not characters
    if (last <= 0x10ffff) return String.fromCodePoint(...points, last);
  }
  return undefined;
}

function stringList(values: readonly string[]): string {
  return `[${values.map(quote).join(', ')}]`;
}

/** A double-quoted Milvus string literal. */
export function quote(text: string): string {
  return `"${text.replace(/[\\"\n\r\t]/g, (c) => ESCAPES[c])}"`;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
