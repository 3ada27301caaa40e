import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { xmodalError } from '../errors.js';

/** Paths anyone may fetch when a key is set: liveness, the UI's static files and the API docs. */
const PUBLIC = [/^\/health$/, /^\/$/, /^\/ui\//, /^\/favicon\.ico$/, /^\/docs(\/|$)/, /^\/openapi\.json$/];

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** With a key set, every other request needs `Authorization: Bearer <key>`. */
export function installApiKey(app: FastifyInstance, apiKey: string | undefined, prefix = ''): void {
  if (!apiKey) return;
  const expected = digest(apiKey);
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0].slice(prefix.length) || '/';
    if (PUBLIC.some((pattern) => pattern.test(path))) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    // Hashing first gives equal lengths, so the comparison takes the same time for any wrong key.
    if (!match || !timingSafeEqual(digest(match[1].trim()), expected))
      throw xmodalError(
        'UNAUTHORIZED',
        'missing or wrong API key: send "Authorization: Bearer <XMODAL_API_KEY>"',
      );
  });
}
