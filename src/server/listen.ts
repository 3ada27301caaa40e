import type { FastifyInstance } from 'fastify';

/**
 * Listens, and on SIGINT or SIGTERM closes the server (every collection and model it opened) and exits 0.
 * Resolves to the address it listens on.
 */
export async function listenUntilStopped(
  app: FastifyInstance,
  options: { port: number; host: string },
): Promise<string> {
  const address = await app.listen(options);
  const stop = () => {
    app.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return address;
}
