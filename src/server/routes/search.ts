import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import send from '@fastify/send';
import type { FastifyInstance } from 'fastify';
import { xmodalError } from '../../errors.js';
import type { Filter, ItemRecord } from '../../store/store.js';
import { inputValue } from '../../tasks/embed.js';
import { type FairReport, fairSearch } from '../../tasks/fair-search.js';

import {
  DEFAULT_K,
  hitJson,
  itemJson,
  MAX_K,
  type QueryPart,
  type ResultHit,
  searchCollection,
} from '../../tasks/search.js';
import { uploadsRoot } from '../../tasks/workspace.js';
import type { ServerContext } from '../context.js';
import { openItemFile } from '../item-file.js';
import { checkText, jsonInput } from '../media-inputs.js';
import { collectionQuery, errorSchema, filterSchema, mediaString } from '../schemas.js';

interface SearchBody {
  collection?: string;
  text?: string;
  image?: string;
  audio?: string;
  like?: string;
  parts?: { kind: QueryPart['kind']; value: string; weight?: number }[];
  k?: number;
  filter?: Filter;
  minScore?: number;
  ef?: number;
  fair?: string;
  fairMargin?: number;
}

const partSchema = {
  type: 'object',
  required: ['kind', 'value'],
  properties: {
    kind: { type: 'string', enum: ['text', 'image', 'audio', 'like'] },
    value: {
      type: 'string',
      minLength: 1,
      description: 'text, base64/data URL media, or an item id for like',
    },
    weight: { type: 'number', description: 'default 1; negative pushes results away ("not")' },
  },
  additionalProperties: false,
} as const;

/** Where a client fetches an item's original file. */
export function contentUrl(prefix: string, collection: string, id: string): string {
  return `${prefix}/items/${encodeURIComponent(id)}/content?collection=${encodeURIComponent(collection)}`;
}

function describe(prefix: string, collection: string, item: ItemRecord) {
  return { ...itemJson(item), content: item.uri ? contentUrl(prefix, collection, item.id) : undefined };
}

async function queryParts(body: SearchBody, ctx: ServerContext): Promise<QueryPart[]> {
  const given: { kind: QueryPart['kind']; value: string; weight?: number }[] = [...(body.parts ?? [])];
  for (const kind of ['text', 'image', 'audio', 'like'] as const) {
    if (body[kind] !== undefined) given.push({ kind, value: body[kind]! });
  }
  if (given.length === 0)
    throw xmodalError('BAD_ARGUMENT', 'empty query: give text, image, audio, like or parts');
  return Promise.all(
    given.map(async (part, i) => {
      if (part.kind === 'text') checkText(part.value, `text query ${i}`, ctx.limits);
      if (part.kind !== 'image' && part.kind !== 'audio') return part;
      const input = await jsonInput({ [part.kind]: part.value }, `${part.kind} query ${i}`, ctx.limits);
      return { ...part, value: inputValue(input) };
    }),
  );
}

export function registerSearchRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(
    '/search',
    {
      schema: {
        summary: 'Search a collection by text, image, audio or example items, with weights and filters',
        tags: ['search'],
        body: {
          type: 'object',
          properties: {
            collection: { type: 'string' },
            text: { type: 'string', minLength: 1 },
            image: mediaString,
            audio: mediaString,
            like: { type: 'string', minLength: 1, description: 'an item id: find more like it' },
            parts: { type: 'array', items: partSchema, maxItems: 16 },
            k: { type: 'integer', minimum: 1, maximum: MAX_K, default: DEFAULT_K },
            filter: filterSchema,
            minScore: { type: 'number' },
            ef: { type: 'integer', minimum: 1, maximum: 4096 },
            fair: {
              type: 'string',
              minLength: 1,
              maxLength: 64,
              description:
                're-rank so each group of this attribute gets its share of the hits: item meta/tag group.<attribute>, or skin_tone / gender predicted zero-shot',
            },
            fairMargin: {
              type: 'number',
              minimum: 0,
              description: 'with fair: the most score an item may lose its place to (default 0.05)',
            },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorSchema },
      },
    },
    async (request) => {
      const body = request.body as SearchBody;
      const name = body.collection ?? ctx.defaultCollection;
      return ctx.collections.use(name, async (collection) => {
        const query = {
          parts: await queryParts(body, ctx),
          k: body.k,
          filter: body.filter,
          minScore: body.minScore,
          ef: body.ef,
        };
        const { hits, fair }: { hits: ResultHit[]; fair?: FairReport } = body.fair
          ? await fairSearch(collection, query, { attribute: body.fair, margin: body.fairMargin })
          : { hits: await searchCollection(collection, query) };
        return {
          collection: name,
          hits: hits.map((hit) => ({ ...hitJson(hit), content: describe(ctx.prefix, name, hit).content })),
          ...(fair ? { fair } : {}),
        };
      });
    },
  );

  const itemSchema = (summary: string) => ({
    summary,
    tags: ['search'],
    params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } },
    querystring: collectionQuery,
    response: { '4xx': errorSchema },
  });

  const findItem = async (id: string, collectionName: string | undefined) => {
    const name = collectionName ?? ctx.defaultCollection;
    const item = await ctx.collections.use(name, (collection) => collection.store.get(id));
    if (!item) throw xmodalError('NOT_FOUND', `no item "${id}" in collection "${name}"`);
    return { name, item };
  };

  app.get('/items/:id', { schema: itemSchema('One item, without its vector') }, async (request) => {
    const { id } = request.params as { id: string };
    const { name, item } = await findItem(id, (request.query as { collection?: string }).collection);
    return describe(ctx.prefix, name, item);
  });

  app.get(
    '/items/:id/content',
    {
      schema: itemSchema(
        "The item's original file (only files the collection indexed); a video's frames and sound windows serve the video, with HTTP Range requests",
      ),
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const { name, item } = await findItem(id, (request.query as { collection?: string }).collection);
      // Only the path the item was indexed from is ever served: the URL names an item, never a file.
      if (!item.uri) throw xmodalError('NOT_FOUND', `item "${id}" has no file`);
      // Checked again now (a file may have been swapped for a link since it was indexed), opened once, and the
      // body streamed from that open file, never from the path again.
      const file = await openItemFile(
        item.uri,
        [...ctx.indexRoots, join(uploadsRoot(ctx.collections.workspace), name)],
        id,
      );
      let statusCode: number;
      let headers: Record<string, string | number>;
      let body: Readable;
      try {
        // @fastify/send answers Range (players seek in videos), If-Range and conditional requests; asked as
        // HEAD it only works out the answer, for the real path the file was opened by. The file is named
        // relative to its own folder so that no part of the path is read as URL syntax.
        const answer = await send(
          { headers: request.raw.headers, method: 'HEAD' } as typeof request.raw,
          `/${encodeURIComponent(basename(file.real))}`,
          { root: dirname(file.real), dotfiles: 'allow', index: false, maxAge: 60_000 },
        );
        answer.stream.destroy();
        ({ statusCode, headers } = answer);
        if (answer.type === 'error') {
          // A range past the end: the standard answer, with the file's size, and no body.
          if (statusCode === 416) {
            await file.handle.close();
            return reply.status(416).headers(headers).header('content-length', 0).send();
          }
          throw xmodalError('FILE_NOT_FOUND', `the file of item "${id}" cannot be read`);
        }
        const seen = 'stat' in answer.metadata ? answer.metadata.stat : undefined;
        if (!seen || seen.ino !== file.ino || seen.dev !== file.dev || seen.size !== file.size)
          throw xmodalError('FILE_NOT_FOUND', `the file of item "${id}" changed while it was being served`);
        const range = /^bytes (\d+)-(\d+)\//.exec(String(headers['Content-Range'] ?? ''));
        const start = statusCode === 206 && range ? Number(range[1]) : 0;
        const end = statusCode === 206 && range ? Number(range[2]) : file.size - 1;
        const empty = request.method === 'HEAD' || statusCode === 304 || end < start;
        // The stream closes the handle when it ends or the client goes away.
        body = empty ? Readable.from([]) : file.handle.createReadStream({ start, end });
        if (empty) await file.handle.close();
      } catch (error) {
        await file.handle.close();
        throw error;
      }
      reply.status(statusCode);
      reply.headers(headers);
      reply.header('content-type', item.mime ?? 'application/octet-stream');
      reply.header('cache-control', 'private, max-age=60');
      reply.header('x-content-type-options', 'nosniff');
      // SVG can carry script: let the browser show it as an image only, never run it as a page.
      reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
      return reply.send(body);
    },
  );
}
