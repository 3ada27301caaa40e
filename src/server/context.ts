import type { Encoder } from '../encoders/encoder.js';
import type { CollectionPool } from './collections.js';
import type { MediaLimits } from './media-inputs.js';
import type { ServerMetrics } from './metrics.js';

export interface ServerLimits extends MediaLimits {
  /** Largest request, bytes: a JSON body (base64 media count here) or a whole multipart upload. */
  bodyBytes: number;
  /** Largest uploaded file, bytes. */
  fileBytes: number;
  /** Most files in one multipart request. */
  files: number;
  /** Most inputs in one embedding request (OpenAI's limit: LangChain sends 512 at a time). */
  inputs: number;
  /** Most images and audio clips in one request, within `inputs`. */
  mediaInputs: number;
  /** Whole request received within this, milliseconds. */
  requestTimeoutMs: number;
  /** Most collections kept open when idle (each holds a few file handles); the least recently used close first. */
  openCollections: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 32 * 1024 * 1024,
  fileBytes: 32 * 1024 * 1024,
  files: 64,
  inputs: 2048,
  mediaInputs: 256,
  textChars: 100_000,
  maxPixels: 40_000_000,
  requestTimeoutMs: 60_000,
  openCollections: 64,
};

/** What every route group is given. */
export interface ServerContext {
  /** The served model (batched when batching is on): for /embed, /similarity, /v1 and new collections. */
  encoder: Encoder;
  /** What to call the served model: its spec as given, so `model` fields can name it. */
  modelNames: string[];
  collections: CollectionPool;
  defaultCollection: string;
  limits: ServerLimits;
  metrics: ServerMetrics;
  /** Server-side folders that `POST /collections/:name/index` may read by path; none means uploads only. */
  indexRoots: string[];
  /** Where the plugin is mounted in the host app ('' at the root): links the server hands out start with it. */
  prefix: string;
}
