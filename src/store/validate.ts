// Input checks shared by every backend, so each refuses the same things with the same codes.
import { xmodalError } from '../errors.js';
import {
  DTYPES,
  describeEncoderSpec,
  type EncoderSpec,
  MODALITIES,
  type Modality,
  sameEncoderSpec,
  sameWeights,
} from '../types.js';
import type {
  CollectionInfo,
  Filter,
  IndexQuantization,
  Item,
  MetaValue,
  Metric,
  OpenStoreOptions,
  SearchOptions,
} from './store.js';

const METRICS: readonly Metric[] = ['cosine', 'ip'];
const QUANTIZATIONS: readonly IndexQuantization[] = ['f32', 'f16', 'i8'];
/**
 * Collection names, for every backend and every caller (the server's schemas use the pattern too): safe as a
 * directory name and as part of a quoted SQL identifier (`xm_<name>_modality` stays within PostgreSQL's 63).
 */
export const COLLECTION_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$';
const COLLECTION_NAME = new RegExp(COLLECTION_NAME_PATTERN);

/** Beam widths measured by bench/store.ts on 100k×512 clustered vectors with m 16, efConstruction 200. */
const EF_FOR_RECALL: readonly [recall: number, ef: number][] = [
  [0.9, 32],
  [0.95, 64],
  [0.99, 128],
  [0.995, 256],
];

export interface ResolvedOptions {
  info: CollectionInfo;
  quantization: IndexQuantization;
  defaultEf: number;
  m: number;
  efConstruction: number;
  exactScanMax: number;
}

/** A filter with empty conditions dropped and values checked; `undefined` when nothing constrains. */
export interface NormalisedFilter {
  modalities?: Modality[];
  tagsAny?: string[];
  tagsAll?: string[];
  uriPrefix?: string;
  meta?: [key: string, value: MetaValue][];
}

export function checkCollectionName(name: string): string {
  if (typeof name !== 'string' || !COLLECTION_NAME.test(name)) {
    throw xmodalError(
      'BAD_ARGUMENT',
      `collection name ${JSON.stringify(name)} must be 1-48 letters, digits, '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

export function resolveOpenOptions(options: OpenStoreOptions): ResolvedOptions {
  const { dim, encoderId, metric = 'cosine', quantization = 'f32', recallTarget = 0.95 } = options;
  if (!Number.isInteger(dim) || dim <= 0)
    throw xmodalError('BAD_ARGUMENT', `dim must be a positive integer, got ${dim}`);
  if (typeof encoderId !== 'string' || encoderId === '')
    throw xmodalError('BAD_ARGUMENT', 'encoderId is required');
  if (!METRICS.includes(metric))
    throw xmodalError('BAD_ARGUMENT', `metric must be one of ${METRICS.join(', ')}`);
  if (!QUANTIZATIONS.includes(quantization)) {
    throw xmodalError('BAD_ARGUMENT', `quantization must be one of ${QUANTIZATIONS.join(', ')}`);
  }
  if (quantization === 'i8' && metric !== 'cosine') {
    throw xmodalError('BAD_ARGUMENT', 'i8 quantization needs metric cosine (values must lie in [-1, 1])');
  }
  if (!(recallTarget > 0 && recallTarget < 1))
    throw xmodalError('BAD_ARGUMENT', 'recallTarget must be in (0, 1)');
  const m = options.hnsw?.m ?? 16;
  const efConstruction = options.hnsw?.efConstruction ?? 200;
  const exactScanMax = options.exactScanMax ?? 4096;
  for (const [name, value] of [
    ['hnsw.m', m],
    ['hnsw.efConstruction', efConstruction],
    ['exactScanMax', exactScanMax],
  ] as const) {
    if (!Number.isInteger(value) || value < 0)
      throw xmodalError('BAD_ARGUMENT', `${name} must be an integer >= 0`);
  }
  const info: CollectionInfo = { name: checkCollectionName(options.collection), dim, metric, encoderId };
  if (options.encoder !== undefined) info.encoder = checkEncoderSpec(options.encoder, dim);
  return {
    info,
    quantization,
    defaultEf: efForRecall(recallTarget),
    m,
    efConstruction: Math.max(efConstruction, 2 * m),
    exactScanMax,
  };
}

function checkEncoderSpec(spec: EncoderSpec, dim: number): EncoderSpec {
  const ok =
    typeof spec === 'object' &&
    spec !== null &&
    typeof spec.model === 'string' &&
    spec.model !== '' &&
    DTYPES.includes(spec.dtype) &&
    (spec.adapter === undefined || typeof spec.adapter === 'string') &&
    (spec.weights === undefined || (typeof spec.weights === 'string' && spec.weights !== '')) &&
    typeof spec.logitScale === 'number' &&
    Number.isFinite(spec.logitScale) &&
    spec.dim === dim;
  if (!ok)
    throw xmodalError(
      'BAD_ARGUMENT',
      `encoder spec must be {model, dtype, adapter?, logitScale, dim: ${dim}, weights?}, got ${JSON.stringify(spec)}`,
    );
  const { model, dtype, adapter, logitScale, weights } = spec;
  return {
    model,
    dtype,
    ...(adapter === undefined ? {} : { adapter }),
    logitScale,
    dim,
    ...(weights === undefined ? {} : { weights }),
  };
}

/**
 * The spec to stamp on a collection made before specs were saved: without the opener's weights, since nothing
 * says the vectors already there were made with them (a later change of weights then goes unnoticed, as before).
 */
export function specForOlderCollection(spec: EncoderSpec): EncoderSpec {
  const { weights: _unproven, ...rest } = spec;
  return rest;
}

/** Refuses an encoder whose weights differ from those a collection's vectors were made with. */
export function checkWeights(name: string, saved: EncoderSpec | undefined, now: EncoderSpec): void {
  if (!saved || sameWeights(saved, now)) return;
  throw xmodalError(
    'ENCODER_MISMATCH',
    `collection "${name}" was indexed with other weights of ${saved.adapter ?? saved.model} (${saved.weights}, now ${now.weights}); re-index it into a new collection, or drop it (xmodal collections drop ${name} --yes)`,
  );
}

export function efForRecall(target: number): number {
  for (const [recall, ef] of EF_FOR_RECALL) if (target <= recall) return ef;
  return 512;
}

/** Refuses to reopen a collection with another dimension, encoder or metric than it was created with. */
export function checkStamp(existing: CollectionInfo, requested: CollectionInfo): void {
  const name = existing.name;
  if (existing.dim !== requested.dim) {
    throw xmodalError(
      'DIMENSION_MISMATCH',
      `collection ${name} holds ${existing.dim}-d vectors, asked for ${requested.dim}-d`,
    );
  }
  if (existing.encoderId !== requested.encoderId) {
    throw xmodalError(
      'ENCODER_MISMATCH',
      `collection ${name} was made by encoder ${existing.encoderId}, not ${requested.encoderId}: use another collection or re-index`,
    );
  }
  if (existing.encoder && requested.encoder && !sameEncoderSpec(existing.encoder, requested.encoder)) {
    throw xmodalError(
      'ENCODER_MISMATCH',
      `collection ${name} was made with ${describeEncoderSpec(existing.encoder)}, not ${describeEncoderSpec(requested.encoder)}: open it with the same model and dtype, or re-index into another collection`,
    );
  }
  if (requested.encoder) checkWeights(name, existing.encoder, requested.encoder);
  if (existing.metric !== requested.metric) {
    throw xmodalError(
      'CONFLICT',
      `collection ${name} uses metric ${existing.metric}, not ${requested.metric}`,
    );
  }
}

/** Checks vector length and values; cosine collections get an L2-normalised copy (written into `out` if given). */
export function prepareVector(
  vector: Float32Array,
  info: CollectionInfo,
  what: string,
  out: Float32Array = new Float32Array(vector.length),
): Float32Array {
  if (!(vector instanceof Float32Array))
    throw xmodalError('BAD_ARGUMENT', `${what}: vector must be a Float32Array`);
  if (vector.length !== info.dim) {
    throw xmodalError(
      'DIMENSION_MISMATCH',
      `${what}: vector has ${vector.length} dimensions, collection ${info.name} has ${info.dim}`,
    );
  }
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
  // A NaN or infinity anywhere makes the sum non-finite; f32 squares cannot overflow an f64 sum.
  if (!Number.isFinite(norm)) throw xmodalError('BAD_ARGUMENT', `${what}: vector has a non-finite value`);
  if (info.metric === 'ip') {
    out.set(vector);
    return out;
  }
  if (norm === 0) throw xmodalError('BAD_ARGUMENT', `${what}: a zero vector has no direction for cosine`);
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] * scale;
  return out;
}

/** Validated copies, one per id (the last one given wins), vectors normalised for cosine. */
export function prepareItems(items: readonly Item[], info: CollectionInfo): Item[] {
  if (!Array.isArray(items)) throw xmodalError('BAD_ARGUMENT', 'upsert expects an array of items');
  const byId = new Map<string, Item>();
  for (const item of items) {
    const { id } = item;
    if (typeof id !== 'string' || id === '')
      throw xmodalError('BAD_ARGUMENT', 'item id must be a non-empty string');
    if (!MODALITIES.includes(item.modality)) {
      throw xmodalError('BAD_ARGUMENT', `item ${id}: modality must be one of ${MODALITIES.join(', ')}`);
    }
    for (const key of ['uri', 'contentHash', 'mime'] as const) {
      if (item[key] !== undefined && typeof item[key] !== 'string') {
        throw xmodalError('BAD_ARGUMENT', `item ${id}: ${key} must be a string`);
      }
    }
    const prepared: Item = {
      id,
      vector: prepareVector(item.vector, info, `item ${id}`),
      modality: item.modality,
    };
    if (item.uri !== undefined) prepared.uri = item.uri;
    if (item.contentHash !== undefined) prepared.contentHash = item.contentHash;
    if (item.mime !== undefined) prepared.mime = item.mime;
    if (item.tags !== undefined) prepared.tags = checkStrings(item.tags, `item ${id}: tags`);
    if (item.meta !== undefined) prepared.meta = Object.fromEntries(checkMeta(item.meta, `item ${id}: meta`));
    byId.delete(id);
    byId.set(id, prepared);
  }
  return [...byId.values()];
}

export function checkIds(ids: readonly string[]): string[] {
  if (!Array.isArray(ids)) throw xmodalError('BAD_ARGUMENT', 'expected an array of ids');
  return [...new Set(checkStrings(ids, 'ids'))];
}

export function checkSearchOptions(options: SearchOptions, defaultEf: number): { k: number; ef: number } {
  const { k, ef = defaultEf } = options ?? ({} as SearchOptions);
  if (!Number.isInteger(k) || k <= 0)
    throw xmodalError('BAD_ARGUMENT', `k must be a positive integer, got ${k}`);
  if (!Number.isInteger(ef) || ef <= 0)
    throw xmodalError('BAD_ARGUMENT', `ef must be a positive integer, got ${ef}`);
  return { k, ef: Math.max(ef, k) };
}

export function normaliseFilter(filter: Filter | undefined): NormalisedFilter | undefined {
  if (filter === undefined || filter === null) return undefined;
  if (typeof filter !== 'object') throw xmodalError('BAD_ARGUMENT', 'filter must be an object');
  const out: NormalisedFilter = {};
  if (filter.modality !== undefined) {
    const modalities = Array.isArray(filter.modality) ? filter.modality : [filter.modality];
    for (const m of modalities) {
      if (!MODALITIES.includes(m))
        throw xmodalError('BAD_ARGUMENT', `filter.modality: unknown modality ${m}`);
    }
    if (modalities.length > 0) out.modalities = [...new Set(modalities)];
  }
  if (filter.tagsAny !== undefined && filter.tagsAny.length > 0) {
    out.tagsAny = [...new Set(checkStrings(filter.tagsAny, 'filter.tagsAny'))];
  }
  if (filter.tagsAll !== undefined && filter.tagsAll.length > 0) {
    out.tagsAll = [...new Set(checkStrings(filter.tagsAll, 'filter.tagsAll'))];
  }
  if (filter.uriPrefix !== undefined) {
    if (typeof filter.uriPrefix !== 'string')
      throw xmodalError('BAD_ARGUMENT', 'filter.uriPrefix must be a string');
    if (filter.uriPrefix !== '') out.uriPrefix = filter.uriPrefix;
  }
  if (filter.meta !== undefined) {
    const meta = checkMeta(filter.meta, 'filter.meta');
    if (meta.length > 0) out.meta = meta;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function checkStrings(values: readonly string[], what: string): string[] {
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
    throw xmodalError('BAD_ARGUMENT', `${what} must be an array of strings`);
  }
  return [...values];
}

function checkMeta(meta: Record<string, MetaValue>, what: string): [string, MetaValue][] {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw xmodalError('BAD_ARGUMENT', `${what} must be an object`);
  }
  const entries: [string, MetaValue][] = [];
  for (const [key, value] of Object.entries(meta)) {
    if (value === undefined) continue;
    const ok =
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value));
    if (!ok) throw xmodalError('BAD_ARGUMENT', `${what}.${key} must be a string, finite number or boolean`);
    entries.push([key, value]);
  }
  return entries;
}
