import type { IncomingMessage, ServerResponse } from 'node:http';
import AjvCompiler from '@fastify/ajv-compiler';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { Encoder, EncoderOptions } from '../encoders/encoder.js';
import { loadEncoder } from '../encoders/load.js';
import { DEFAULT_COLLECTION, findCollection, type Workspace } from '../tasks/workspace.js';
import { PACKAGE_VERSION } from '../version.js';
import { installApiKey } from './auth.js';
import { BatchingEncoder, type BatchingOptions } from './batching.js';
import { CollectionPool } from './collections.js';
import { DEFAULT_LIMITS, type ServerContext, type ServerLimits } from './context.js';
import { frameworkErrorSettings, installErrorHandlers } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { registerCollectionRoutes } from './routes/collections.js';
import { registerEmbedRoutes } from './routes/embed.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerOpenAiRoutes } from './routes/openai.js';
import { registerSearchRoutes } from './routes/search.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { registerUiRoutes } from './routes/ui.js';
import { multipartLimits } from './uploads.js';

export interface ServerOptions {
  /** Where collections live; `home` alone is short for `workspace: {home}`. */
  workspace?: Workspace;
  home?: string;
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

/** The options of `xmodalPlugin`: the server's, plus the prefix Fastify mounts it under. */
export interface XmodalPluginOptions extends ServerOptions {
  /** Where the API and UI live in the host app, e.g. `/xmodal` (handled by Fastify's `register`). */
  prefix?: string;
}

const compileValidator = AjvCompiler()(
  {},
  // Wrong types and unknown fields are the client's mistake to hear about, not to have silently fixed.
  { customOptions: { coerceTypes: false, removeAdditional: false } },
);

/**
 * The whole xmodal HTTP API and web UI as a Fastify plugin: `app.register(xmodalPlugin, {home, prefix})`.
 * It keeps its own error shape, validation, uploads, docs and API key inside its prefix and leaves the host
 * app's alone. The host app's `routerOptions.maxParamLength` must fit item ids (file paths; 2048 in
 * `buildServer`); closing the host closes every collection and model the plugin opened.
 */
export const xmodalPlugin: FastifyPluginAsync<XmodalPluginOptions> = async (app, options) => {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const workspace = options.workspace ?? (options.home ? { home: options.home } : {});
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
  const collections = new CollectionPool(workspace, share, encoderOptions, limits.openCollections);
  collections.adopt(encoder);
  const ctx: ServerContext = {
    encoder,
    modelNames: [...new Set([encoder.id, ...(spec ? [spec] : []), encoder.id.split('/').at(-1)!])],
    collections,
    defaultCollection,
    limits,
    metrics,
    indexRoots: options.indexRoots ?? [],
    prefix: app.prefix,
  };

  app.addHook('onClose', () => collections.close());
  app.setValidatorCompiler(compileValidator);
  // The body limit is the host's server-wide setting; each of our routes carries ours instead.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= limits.bodyBytes;
  });
  installErrorHandlers(app);
  installApiKey(app, options.apiKey ?? process.env.XMODAL_API_KEY, app.prefix);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url?.slice(app.prefix.length) || 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });
  // Multipart bodies are read as streams by the routes; validate them against their (documentation) schema as {}.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.isMultipart()) request.body = {};
  });
  if (options.corsOrigins?.length) await app.register(cors, { origin: options.corsOrigins });
  // A host app that already parses multipart keeps its parser (Fastify allows one per content type).
  if (!app.hasRequestDecorator('isMultipart'))
    await app.register(multipart, { limits: multipartLimits(limits) });
  if (!app.hasDecorator('swagger')) {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'xmodal',
          description: 'One embedding space for text, images and audio.',
          version: PACKAGE_VERSION,
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerHealthRoutes(app, ctx);
  registerEmbedRoutes(app, ctx);
  registerOpenAiRoutes(app, ctx);
  registerSearchRoutes(app, ctx);
  registerCollectionRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
  registerUiRoutes(app);
};

/** The server-wide settings xmodal needs from the Fastify instance that hosts it. */
function serverSettings(options: ServerOptions): FastifyServerOptions {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  return {
    logger: options.logger ?? false,
    bodyLimit: limits.bodyBytes,
    ...frameworkErrorSettings(limits.requestTimeoutMs),
    // Item ids are file paths: keep %2F inside one path parameter.
    routerOptions: { maxParamLength: 2048 },
  };
}

/** Builds the whole server, ready to `listen`; closing it closes every collection and model it opened. */
export async function buildApp(options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(serverSettings(options));
  await app.register(xmodalPlugin, options);
  return app;
}

/** A plain Node request handler (`http.createServer(handler)`, Express `app.use(handler)`) with `close()`. */
export interface XmodalHandler {
  (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void): void;
  /** Closes every collection and model the handler opened. */
  close(): Promise<void>;
}

/**
 * The HTTP API and UI as a Node `(req, res)` handler for Express, Koa, Next.js or a bare `http` server, under
 * `prefix` (default: the root). Requests outside the prefix go to `next` when given (Express), else 404.
 * Under Express, `app.use(prefix, handler)` works too: the handler reads the original URL back.
 */
export async function createHandler(options: XmodalPluginOptions = {}): Promise<XmodalHandler> {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const app = Fastify(serverSettings(options));
  await app.register(xmodalPlugin, { ...options, prefix });
  await app.ready();
  const handler = (request: IncomingMessage, response: ServerResponse, next?: (error?: unknown) => void) => {
    const original = (request as { originalUrl?: string }).originalUrl;
    if (typeof original === 'string') request.url = original;
    const path = (request.url ?? '/').split('?')[0];
    if (next && prefix !== '' && path !== prefix && !path.startsWith(`${prefix}/`)) return next();
    app.routing(request, response);
  };
  return Object.assign(handler, { close: () => app.close() });
}
