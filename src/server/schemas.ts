// JSON schemas shared by the route groups: validation (bad shapes become 400 BAD_ARGUMENT) and the OpenAPI document.

export const mediaString = {
  type: 'string',
  minLength: 1,
  description: 'the file as base64 or a data: URL (data:image/png;base64,...)',
} as const;

/** Exactly one of text, image, audio. */
export const inputSchema = {
  type: 'object',
  description: 'one input: a text, an image or an audio clip',
  properties: {
    text: { type: 'string', minLength: 1 },
    image: mediaString,
    audio: mediaString,
  },
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
} as const;

export const filterSchema = {
  type: 'object',
  description: 'every given condition must hold',
  properties: {
    modality: {
      anyOf: [
        { type: 'string', enum: ['text', 'image', 'audio'] },
        { type: 'array', items: { type: 'string', enum: ['text', 'image', 'audio'] } },
      ],
    },
    tagsAny: { type: 'array', items: { type: 'string' } },
    tagsAll: { type: 'array', items: { type: 'string' } },
    uriPrefix: { type: 'string' },
    meta: {
      type: 'object',
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    },
  },
  additionalProperties: false,
} as const;

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
} as const;

export const embeddingsResponse = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    dim: { type: 'integer' },
    embeddings: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
  },
} as const;

export const collectionQuery = {
  type: 'object',
  properties: { collection: { type: 'string', description: "collection name (default: the server's)" } },
} as const;
