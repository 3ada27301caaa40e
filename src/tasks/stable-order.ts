import { createHash } from 'node:crypto';

/**
 * Items ordered by a hash of their keys (ties by position): an order that looks random but is the same on
 * every run and for any input order, so splits taken from it (validation, held-out) are stable.
 */
export function hashOrder<T>(items: readonly T[], key: (item: T) => string): T[] {
  return items
    .map((item, i) => ({ item, i, h: createHash('sha1').update(key(item)).digest('hex') }))
    .sort((x, y) => (x.h < y.h ? -1 : x.h > y.h ? 1 : x.i - y.i))
    .map((x) => x.item);
}
