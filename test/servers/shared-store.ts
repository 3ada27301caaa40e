// A store several processes share: a real PostgreSQL + pgvector server when its PyPI wheel installed, else PGlite.
import { startPgliteServer } from '../store/pglite-server.js';
import { startPostgres } from './postgres.js';
import { serversVenv, warnSkipped } from './python-venv.js';

export interface SharedStore {
  url: string;
  /** What serves it, for test names and messages. */
  engine: string;
  stop(): Promise<void>;
}

export async function startSharedStore(): Promise<SharedStore> {
  const venv = await serversVenv('postgres');
  if ('venv' in venv) {
    const server = await startPostgres(venv.venv);
    return { url: server.url, engine: server.version, stop: () => server.stop() };
  }
  warnSkipped('a real PostgreSQL server (PGlite serves instead)', venv.unavailable);
  const server = await startPgliteServer();
  return { url: server.url, engine: 'PGlite', stop: () => server.stop() };
}
