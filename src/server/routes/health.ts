import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export function registerHealthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/health', { schema: { summary: 'Liveness and what is served', tags: ['ops'] } }, async () => ({
    status: 'ok',
    model: ctx.encoder.id,
    dim: ctx.encoder.dim,
    modalities: ctx.encoder.modalities,
    collection: ctx.defaultCollection,
  }));

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics', tags: ['ops'] } },
    async (_request, reply) => {
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return ctx.metrics.render();
    },
  );
}
