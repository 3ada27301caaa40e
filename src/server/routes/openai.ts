// OpenAI-compatible embeddings: what the openai SDK, LangChain and LlamaIndex send. Images and audio ride
// along as data URLs (or {"image": ...} objects), the way Jina and Infinity accept them.
import type { FastifyInstance } from 'fastify';
import { xmodalError } from '../../errors.js';
import { embedInputs, type Input } from '../../tasks/embed.js';
import type { ServerContext } from '../context.js';
import { dataUrlModality, type JsonInput, jsonInput } from '../media-inputs.js';
import { checkCount } from './embed.js';

const itemSchema = {
  anyOf: [
    { type: 'string' },
    {
      type: 'object',
      properties: { text: { type: 'string' }, image: { type: 'string' }, audio: { type: 'string' } },
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
    },
  ],
} as const;

const bodySchema = {
  type: 'object',
  required: ['input'],
  properties: {
    input: {
      description:
        'a string, or an array of strings / {text|image|audio} objects; data:image/... and data:audio/... URLs are media',
      anyOf: [
        itemSchema,
        { type: 'array', items: itemSchema, minItems: 1 },
        { type: 'array', items: { type: 'integer' } },
        { type: 'array', items: { type: 'array' } },
      ],
    },
    model: { type: 'string' },
    encoding_format: { type: 'string', enum: ['float', 'base64'], default: 'float' },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const;

/** A rough token count for `usage`: words and punctuation marks for text, one per media input. */
function approximateTokens(input: Input): number {
  if (input.modality !== 'text') return 1;
  return Math.max(1, input.text.match(/\w+|[^\s\w]/g)?.length ?? 0);
}

function base64Of(vector: Float32Array): string {
  // OpenAI's base64 format: the float32 values, little-endian, as the SDK decodes them.
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

export function registerOpenAiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const served = (model: string | undefined) => model === undefined || ctx.modelNames.includes(model);

  app.post(
    '/v1/embeddings',
    { schema: { summary: 'OpenAI-compatible embeddings', tags: ['openai'], body: bodySchema } },
    async (request) => {
      const body = request.body as {
        input: unknown;
        model?: string;
        encoding_format?: 'float' | 'base64';
        dimensions?: number;
      };
      if (!served(body.model))
        throw xmodalError(
          'MODEL_NOT_FOUND',
          `this server serves ${ctx.modelNames.join(' / ')}, not ${body.model}`,
        );
      if (body.dimensions !== undefined && body.dimensions !== ctx.encoder.dim)
        throw xmodalError('BAD_ARGUMENT', `dimensions must be ${ctx.encoder.dim} for ${ctx.encoder.id}`);
      const items = Array.isArray(body.input) ? body.input : [body.input];
      if (items.some((item) => typeof item === 'number' || Array.isArray(item)))
        throw xmodalError('BAD_INPUT', 'token-id inputs are not supported: send strings');
      const media = items.filter((item) =>
        typeof item === 'string' ? dataUrlModality(item) : (item as JsonInput & object).text === undefined,
      ).length;
      checkCount(items.length, ctx, media);
      const inputs = await Promise.all(
        items.map((item, i) => jsonInput(item as JsonInput, `input[${i}]`, ctx.limits)),
      );
      const vectors = await embedInputs(ctx.encoder, inputs);
      const tokens = inputs.reduce((n, input) => n + approximateTokens(input), 0);
      return {
        object: 'list',
        data: vectors.map((vector, index) => ({
          object: 'embedding',
          index,
          embedding: body.encoding_format === 'base64' ? base64Of(vector) : Array.from(vector),
        })),
        model: body.model ?? ctx.modelNames[0],
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      };
    },
  );

  app.get(
    '/v1/models',
    { schema: { summary: 'The served model, OpenAI-style', tags: ['openai'] } },
    async () => ({
      object: 'list',
      data: ctx.modelNames.map((id) => ({ id, object: 'model', created: 0, owned_by: 'xmodal' })),
    }),
  );
}
