import type { FastifyInstance, FastifyRequest } from 'fastify';
import { xmodalError } from '../../errors.js';
import { similarity } from '../../tasks/embed.js';
import type { ServerContext } from '../context.js';
import { checkMedia, checkText, decodeMediaString, type JsonInput, jsonInput } from '../media-inputs.js';
import { embeddingsResponse, errorSchema, inputSchema, mediaString } from '../schemas.js';
import { readMultipart, requireFiles } from '../uploads.js';

function oneOrMany<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Inputs per request: at most `inputs`, of which at most `mediaInputs` images or clips. */
export function checkCount(count: number, ctx: ServerContext, media = 0): void {
  if (count === 0) throw xmodalError('BAD_ARGUMENT', 'nothing to embed');
  if (count > ctx.limits.inputs)
    throw xmodalError('INPUT_TOO_LARGE', `${count} inputs in one request; the limit is ${ctx.limits.inputs}`);
  if (media > ctx.limits.mediaInputs)
    throw xmodalError(
      'INPUT_TOO_LARGE',
      `${media} images or audio clips in one request; the limit is ${ctx.limits.mediaInputs}`,
    );
}

function vectorsBody(ctx: ServerContext, vectors: Float32Array[]) {
  return { model: ctx.encoder.id, dim: ctx.encoder.dim, embeddings: vectors.map((v) => Array.from(v)) };
}

/** Media from a multipart upload or a JSON body `{image|audio: string | string[]}`. */
async function mediaInputs(
  request: FastifyRequest,
  modality: 'image' | 'audio',
  ctx: ServerContext,
): Promise<Uint8Array[]> {
  let named: { what: string; bytes: Uint8Array }[];
  if (request.isMultipart()) {
    const { files } = await readMultipart(request, ctx.limits);
    named = requireFiles(files).map((f) => ({ what: f.filename, bytes: f.bytes }));
  } else {
    const body = request.body as Record<string, string | string[]> | undefined;
    const values = body?.[modality];
    if (values === undefined)
      throw xmodalError('BAD_ARGUMENT', `send multipart files or a JSON body {"${modality}": ...}`);
    named = oneOrMany(values).map((value, i) => ({
      what: `${modality}[${i}]`,
      bytes: decodeMediaString(value, `${modality}[${i}]`),
    }));
  }
  checkCount(named.length, ctx, named.length);
  await Promise.all(named.map((n) => checkMedia(n.bytes, modality, n.what, ctx.limits)));
  return named.map((n) => n.bytes);
}

function mediaRouteSchema(modality: 'image' | 'audio') {
  const json = {
    type: 'object',
    required: [modality],
    properties: { [modality]: { anyOf: [mediaString, { type: 'array', items: mediaString, minItems: 1 }] } },
    additionalProperties: false,
  };
  return {
    summary: `Embed ${modality === 'image' ? 'images' : 'audio clips'}`,
    description: `multipart/form-data with one or more files, or JSON {"${modality}": base64 | data URL | [...]}`,
    tags: ['embed'],
    body: {
      content: {
        'application/json': { schema: json },
        'multipart/form-data': {
          schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } } },
        },
      },
    },
    response: { 200: embeddingsResponse, '4xx': errorSchema },
  };
}

export function registerEmbedRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post(
    '/embed/text',
    {
      schema: {
        summary: 'Embed texts',
        tags: ['embed'],
        body: {
          type: 'object',
          required: ['text'],
          properties: {
            text: {
              anyOf: [
                { type: 'string', minLength: 1 },
                { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
              ],
            },
          },
          additionalProperties: false,
        },
        response: { 200: embeddingsResponse, '4xx': errorSchema },
      },
    },
    async (request) => {
      const texts = oneOrMany((request.body as { text: string | string[] }).text);
      checkCount(texts.length, ctx);
      const checked = texts.map((text, i) => checkText(text, `text[${i}]`, ctx.limits));
      return vectorsBody(ctx, await ctx.encoder.embedText(checked));
    },
  );

  app.post('/embed/image', { schema: mediaRouteSchema('image') }, async (request) =>
    vectorsBody(ctx, await ctx.encoder.embedImages(await mediaInputs(request, 'image', ctx))),
  );

  app.post('/embed/audio', { schema: mediaRouteSchema('audio') }, async (request) =>
    vectorsBody(ctx, await ctx.encoder.embedAudio(await mediaInputs(request, 'audio', ctx))),
  );

  app.post(
    '/similarity',
    {
      schema: {
        summary: 'Cosine similarity of any two inputs',
        tags: ['embed'],
        body: {
          type: 'object',
          required: ['a', 'b'],
          properties: { a: inputSchema, b: inputSchema },
          additionalProperties: false,
        },
        response: {
          200: { type: 'object', properties: { model: { type: 'string' }, similarity: { type: 'number' } } },
          '4xx': errorSchema,
        },
      },
    },
    async (request) => {
      const body = request.body as { a: JsonInput; b: JsonInput };
      const [a, b] = await Promise.all([
        jsonInput(body.a, 'a', ctx.limits),
        jsonInput(body.b, 'b', ctx.limits),
      ]);
      return { model: ctx.encoder.id, similarity: await similarity(ctx.encoder, a, b) };
    },
  );
}
