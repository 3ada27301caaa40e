import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import { loadEncoder } from '../encoders/load.js';
import { DEFAULT_COLLECTION, findCollection, type Workspace } from '../tasks/workspace.js';
import { installApiKey } from './auth.js';
import { BatchingEncoder, type BatchingOptions } from './batching.js';
import { CollectionPool } from './collections.js';
import { DEFAULT_LIMITS, type ServerContext, type ServerLimits } from './context.js';
import { installErrorHandlers } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { registerCollectionRoutes } from './routes/collections.js';
import { registerEmbedRoutes } from './routes/embed.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOpenAiRoutes } from './routes/openai.js';
import { registerSearchRoutes } from './routes/search.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { registerUiRoutes } from './routes/ui.js';

export interface ServerOptions {
  workspace?: Workspace;
  /** The collection used when a request names none. */
  collection?: string;
  /** Served model; default: the default collection's model, else the shipped default. */
  model?: string;
  /** dtype, offline mode, cache folder for every model the server loads. */
  encoderOptions?: EncoderOptions;
  /** Bearer key required for everything but /health, the UI files and the docs. Default `XMODAL_API_KEY`. */
  apiKey?: string;
  /** `false` runs every request's model call on its own. */
  batching?: BatchingOptions | false;
  limits?: Partial<ServerLimits>;
  /** Allowed browser origins; CORS is off unless given. */
  corsOrigins?: string[];
  /** Server folders that `POST /collections/:name/index` may read by path. */
  indexRoots?: string[];
  logger?: boolean;
}

/** The model given, else the default collection's (with its saved dtype and scale unless the server names a dtype). */
async function servedModel(
  options: ServerOptions,
  workspace: Workspace,
  collection: string,
): Promise<{ spec?: string; encoderOptions: EncoderOptions }> {
  const encoderOptions = options.encoderOptions ?? {};
  if (options.model) return { spec: options.model, encoderOptions };
  const info = await findCollection(workspace, collection).catch(() => undefined);
  const saved = info?.encoder;
  if (!saved || (encoderOptions.dtype && encoderOptions.dtype !== saved.dtype))
    return { spec: info?.encoderId, encoderOptions };
  return {
    spec: saved.adapter ?? saved.model,
    encoderOptions: { ...encoderOptions, dtype: saved.dtype, logitScale: saved.logitScale },
  };
}

/** Builds the whole server, ready to `listen`; closing it closes every collection and model it opened. */
export async function buildApp(options: ServerOptions = {}): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const workspace = options.workspace ?? {};
  const defaultCollection = options.collection ?? DEFAULT_COLLECTION;
  const metrics = new ServerMetrics();
  const share = (encoder: Encoder): Encoder =>
    options.batching === false
      ? encoder
      : new BatchingEncoder(encoder, { ...options.batching, onBatch: metrics.onBatch });
  // Batches come a few milliseconds apart: onnxruntime threads spinning in between would take the CPU that
  // request handling needs (measured: +28% batched throughput with spinning off, bench/serve.ts).
  const encoderOptions: EncoderOptions | undefined =
    options.batching === false ? options.encoderOptions : { spinThreads: false, ...options.encoderOptions };
  const served = await servedModel({ ...options, encoderOptions }, workspace, defaultCollection);
  const spec = served.spec;
  const encoder = share(await loadEncoder(spec, served.encoderOptions));
  const collections = new CollectionPool(workspace, share, encoderOptions);
  collections.adopt(encoder);
  const ctx: ServerContext = {
    encoder,
    modelNames: [...new Set([encoder.id, ...(spec ? [spec] : []), encoder.id.split('/').at(-1)!])],
    collections,
    defaultCollection,
    limits,
    metrics,
    indexRoots: options.indexRoots ?? [],
  };

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    // Item ids are file paths: keep %2F inside one path parameter.
    routerOptions: { maxParamLength: 2048 },
    // Wrong types and unknown fields are the client's mistake to hear about, not to have silently fixed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  app.addHook('onClose', () => collections.close());
  installErrorHandlers(app);
  installApiKey(app, options.apiKey ?? process.env.XMODAL_API_KEY);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });
  // Multipart bodies are read as streams by the routes; validate them against their (documentation) schema as {}.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.isMultipart()) request.body = {};
  });
  if (options.corsOrigins?.length) await app.register(cors, { origin: options.corsOrigins });
  await app.register(multipart, {
    limits: {
      fileSize: limits.fileBytes,
      files: limits.files,
      fields: 32,
      fieldSize: 64 * 1024,
      parts: limits.files + 32,
    },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'xmodal',
        description: 'One embedding space for text, images and audio.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerHealthRoutes(app, ctx);
  registerEmbedRoutes(app, ctx);
  registerOpenAiRoutes(app, ctx);
  registerSearchRoutes(app, ctx);
  registerCollectionRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
  registerUiRoutes(app);
  return app;
}
