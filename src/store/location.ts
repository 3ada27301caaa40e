// What kind of place a store location is, and how it may be shown; kept apart from open.ts so that a backend can
// use it without importing the module that loads the backends.
import { MILVUS_URL } from './milvus/url.js';

export const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/** Whether many machines can use the location at once (a database server), unlike an embedded directory. */
export function isSharedLocation(location: string): boolean {
  return POSTGRES_URL.test(location) || MILVUS_URL.test(location);
}

/** The location as it may be shown: a password or token in a URL is hidden. */
export function shownLocation(location: string): string {
  if (!isSharedLocation(location)) return location;
  return location.replace(/\/\/[^@/]*@/, '//…@').replace(/([?&]token=)[^&]*/gi, '$1…');
}
