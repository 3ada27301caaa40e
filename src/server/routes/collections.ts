import { resolve } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { xmodalError } from '../../errors.js';
import { COLLECTION_NAME_PATTERN } from '../../store/validate.js';
import { ingestUnderLock } from '../../tasks/collection-lock.js';
import { countItems } from '../../tasks/collection-summaries.js';
import { insideRoots } from '../../tasks/expand-paths.js';
import { keepUploads, type UploadedFile } from '../../tasks/uploads.js';
import type { OpenCollection } from '../../tasks/workspace.js';
import type { ServerContext } from '../context.js';
import { errorSchema } from '../schemas.js';
import { readMultipart, requireFiles } from '../uploads.js';

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: COLLECTION_NAME_PATTERN } },
} as const;

async function stats(collection: OpenCollection) {
  return {
    ...collection.info,
    ...(await countItems(collection.store)),
    modalitiesSupported: collection.encoder.modalities,
  };
}

/** Aborts when the connection closes before the answer was sent: nobody is waiting for the work any more. */
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished)
      controller.abort(xmodalError('BAD_INPUT', 'the client closed the request before it was answered'));
  });
  return controller.signal;
}

/** Server paths a client asked to index, refused unless every one lies inside the roots the server was given. */
async function confinePaths(paths: readonly string[], roots: readonly string[]): Promise<string[]> {
  if (roots.length === 0)
    throw xmodalError(
      'BAD_ARGUMENT',
      'this server indexes uploads only; start it with --index-root DIR to index server paths',
    );
  for (const p of paths)
    if (!(await insideRoots(p, roots)))
      throw xmodalError('BAD_ARGUMENT', `${p} is outside the folders this server may index`);
  return paths.map((p) => resolve(p));
}

export function registerCollectionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/collections', { schema: { summary: 'List collections', tags: ['collections'] } }, async () => ({
    collections: await ctx.collections.list(),
    default: ctx.defaultCollection,
  }));

  app.post(
    '/collections',
    {
      schema: {
        summary: 'Create a collection',
        tags: ['collections'],
        body: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', pattern: COLLECTION_NAME_PATTERN },
            model: { type: 'string', minLength: 1, description: "default: the server's model" },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      const { name, model } = request.body as { name: string; model?: string };
      await ctx.collections.create(name, model ?? ctx.encoder.id);
      return reply.status(201).send(await ctx.collections.use(name, stats));
    },
  );

  app.get(
    '/collections/:name/stats',
    {
      schema: {
        summary: 'Items per modality and the model of a collection',
        tags: ['collections'],
        params: nameParams,
        response: { '4xx': errorSchema },
      },
    },
    async (request) => ctx.collections.use((request.params as { name: string }).name, stats),
  );

  app.delete(
    '/collections/:name',
    {
      schema: {
        summary: 'Delete a collection and its uploads',
        tags: ['collections'],
        params: nameParams,
        response: { '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      await ctx.collections.drop(name, clientGone(reply));
      return { deleted: name };
    },
  );

  app.post(
    '/collections/:name/index',
    {
      schema: {
        summary:
          'Index uploaded files (multipart) or server paths (JSON) into a collection, creating it if needed',
        description:
          'multipart/form-data: files, plus optional "tags" fields; or JSON {"paths": [...], "tags": [...], "prune": false} for folders under the roots the server was started with (--index-root)',
        tags: ['collections'],
        params: nameParams,
        body: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['paths'],
                properties: {
                  paths: {
                    type: 'array',
                    items: { type: 'string', minLength: 1 },
                    minItems: 1,
                    maxItems: 1000,
                  },
                  tags: { type: 'array', items: { type: 'string', minLength: 1 } },
                  prune: { type: 'boolean' },
                },
                additionalProperties: false,
              },
            },
            'multipart/form-data': {
              schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } } },
            },
          },
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      let roots: string[] | undefined;
      let paths: string[] = [];
      let uploads: UploadedFile[] = [];
      let tags: string[] | undefined;
      let prune = false;
      let shown = new Map<string, string>();
      if (request.isMultipart()) {
        // Read now (bounded by the limits), written once the collection's lock is held.
        const { files, fields } = await readMultipart(request, ctx.limits);
        uploads = requireFiles(files);
        tags = fields.tags
          ?.flatMap((t) => t.split(','))
          .map((t) => t.trim())
          .filter(Boolean);
      } else {
        const body = request.body as { paths: string[]; tags?: string[]; prune?: boolean } | undefined;
        if (!body?.paths)
          throw xmodalError('BAD_ARGUMENT', 'send multipart files or a JSON body {"paths": [...]}');
        paths = await confinePaths(body.paths, ctx.indexRoots);
        // Globs, folder walks and links can still lead outside: ingest confines every file by its real path.
        roots = ctx.indexRoots;
        tags = body.tags;
        prune = body.prune ?? false;
      }
      const signal = clientGone(reply);
      let opened: OpenCollection | undefined;
      const prepare = async () => {
        const { collection, release } = await ctx.collections.acquireOrCreate(name, ctx.encoder.id);
        opened = collection;
        try {
          if (uploads.length > 0)
            ({ paths, shown } = await keepUploads(ctx.collections.workspace, name, uploads));
        } catch (error) {
          release();
          throw error;
        }
        return { collection, paths, finished: release };
      };
      const report = await ingestUnderLock(ctx.collections.workspace, name, prepare, {
        tags,
        prune,
        roots,
        signal,
      }).catch((error: unknown) => {
        // Dropped by another process while open here: the next request opens the name afresh.
        if (opened) ctx.collections.forgetIfDropped(name, opened, error);
        throw error;
      });
      return {
        collection: name,
        ...report,
        failed: report.failed.map((f) => ({ ...f, path: shown.get(f.path) ?? f.path })),
        skipped: report.skipped.map((f) => ({ ...f, path: shown.get(f.path) ?? f.path })),
      };
    },
  );
}
