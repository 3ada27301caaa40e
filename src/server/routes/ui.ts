import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { xmodalError } from '../../errors.js';

/** src/ui at the package root: the same three levels up from src/server/routes and dist/server/routes. */
export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'ui');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.ico': 'image/x-icon',
};

export function registerUiRoutes(app: FastifyInstance): void {
  const send = async (name: string, reply: import('fastify').FastifyReply) => {
    const type = FILES[name];
    if (!type) throw xmodalError('NOT_FOUND', `no UI file ${name}`);
    reply.type(type);
    reply.header('cache-control', 'no-cache');
    reply.header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: data:; style-src 'self'; script-src 'self'",
    );
    return readFile(join(UI_DIR, name));
  };
  app.get('/', { schema: { hide: true } }, (request, reply) => {
    // The page links its files relatively: under a prefix it must be served from `<prefix>/`, not `<prefix>`.
    const [path, query] = request.url.split('?');
    if (!path.endsWith('/')) return reply.redirect(`${path}/${query === undefined ? '' : `?${query}`}`);
    return send('index.html', reply);
  });
  // Browsers ask for it at the root whatever the page says.
  app.get('/favicon.ico', { schema: { hide: true } }, (_request, reply) => send('favicon.ico', reply));
  app.get('/ui/:file', { schema: { hide: true } }, (request, reply) =>
    send((request.params as { file: string }).file, reply),
  );
}
