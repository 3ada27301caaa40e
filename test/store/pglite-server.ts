// PGlite with pgvector served on 127.0.0.1, so the ordinary `pg` client speaks the real wire protocol to it.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** A `postgres://` connection string for `openStore`. */
  url: string;
  /** The in-process database itself, for direct inspection. */
  db: PGlite;
  stop(): Promise<void>;
}

export async function startPgliteServer(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  // The store's pool and the backend's helpers hold several connections at once; the default is 1.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  return {
    url: `postgres://postgres:postgres@${server.getServerConn()}/postgres`,
    db,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
