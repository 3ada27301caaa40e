// The queue's URL rules, apart from the queue client so that reading them loads neither BullMQ nor Redis.
import { xmodalError } from '../errors.js';

const REDIS_URL = /^rediss?:\/\//i;

/** The queue's URL as it may be shown: a password in it is hidden. */
export function shownQueueUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//…@');
}

export function checkQueueUrl(url: string): string {
  if (!REDIS_URL.test(url)) {
    throw xmodalError(
      'BAD_ARGUMENT',
      `--queue takes a Redis URL (redis://host:6379 or rediss://…), not ${url}`,
    );
  }
  return url;
}
