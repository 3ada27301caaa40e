// The Store boundary: every backend (embedded SQLite + HNSW, PostgreSQL + pgvector) implements exactly this.
import type { EncoderSpec, Modality } from '../types.js';

/** How vectors are compared. `cosine` stores and queries L2-normalised vectors; `ip` keeps them as given. */
export type Metric = 'cosine' | 'ip';

/** Precision of the ANN index only; the stored copy of every vector stays f32. */
export type IndexQuantization = 'f32' | 'f16' | 'i8';

export type MetaValue = string | number | boolean;

/** What a collection is stamped with when created; reopening with a different dim or encoder is refused. */
export interface CollectionInfo {
  name: string;
  dim: number;
  metric: Metric;
  /** `Encoder.id` of the model whose vectors live here. */
  encoderId: string;
  /**
   * The full encoder spec (model, dtype, adapter, logit scale, dim) the vectors were made with, to reload it
   * exactly. Absent only on a collection made before specs were saved and not opened with one since.
   */
  encoder?: EncoderSpec;
}

export interface Item {
  id: string;
  vector: Float32Array;
  modality: Modality;
  uri?: string;
  contentHash?: string;
  mime?: string;
  tags?: string[];
  meta?: Record<string, MetaValue>;
}

/** An item without its vector: what search hits, `iterate` and ingest bookkeeping deal in. */
export type ItemRecord = Omit<Item, 'vector'>;

/** A search result. Its `tags` and `meta` may be shared with the store's cache and frozen: copy them to change them. */
export interface SearchHit extends ItemRecord {
  /** Cosine similarity for `cosine` collections, inner product for `ip`; higher is better. */
  score: number;
}

/** All given conditions must hold. An empty list or object places no constraint. */
export interface Filter {
  modality?: Modality | Modality[];
  /** At least one of these tags. */
  tagsAny?: string[];
  /** Every one of these tags. */
  tagsAll?: string[];
  /** `uri` starts with this string (case-sensitive, no wildcards). */
  uriPrefix?: string;
  /** Each key equals the value, type included (`1` does not match `true` or `'1'`). */
  meta?: Record<string, MetaValue>;
}

export interface SearchOptions {
  k: number;
  filter?: Filter;
  /** HNSW beam width: higher is slower and finds more. Default from `recallTarget`; embedded never goes below it. */
  ef?: number;
}

export interface IterateOptions {
  filter?: Filter;
  /** Rows fetched per round trip. */
  batchSize?: number;
}

/** One collection: a handle opened by `openStore`. */
export interface Store {
  readonly info: CollectionInfo;
  /** Insert or replace by id; resolves once the items are durable. */
  upsert(items: readonly Item[]): Promise<void>;
  /** Resolves to the number of ids that existed. */
  delete(ids: readonly string[]): Promise<number>;
  get(id: string): Promise<Item | undefined>;
  /** Best first; at most `k` hits, fewer when fewer items match. */
  search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]>;
  count(filter?: Filter): Promise<number>;
  /** Every matching item without vectors, ordered by id: lets an indexer skip unchanged files and prune missing ones. */
  iterate(options?: IterateOptions): AsyncIterable<ItemRecord>;
  /** Persists in-memory state (the embedded ANN index) and releases the handle. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  collection: string;
  dim: number;
  encoderId: string;
  /**
   * The encoder spec to save with a new collection. An existing collection refuses a different one, or other
   * weights (ENCODER_MISMATCH); one made before specs were saved is stamped with it, less its weights (migration).
   */
  encoder?: EncoderSpec;
  /** Default `cosine`. */
  metric?: Metric;
  /** Default `f32`. pgvector: `f32` (vector) or `f16` (halfvec index), fixed when the collection is created. */
  quantization?: IndexQuantization;
  /** Picks the default search `ef`; default 0.95 recall@10. */
  recallTarget?: number;
  /** HNSW graph degree and build beam. Defaults: m 16, efConstruction 200. */
  hnsw?: { m?: number; efConstruction?: number };
  /** A search over at most this many items (after filtering) is an exact scan, never the ANN index. Default 4096. */
  exactScanMax?: number;
}

/** One backend, chosen by `openStore` from the location's form. */
export interface StoreBackend {
  open(location: string, options: OpenStoreOptions): Promise<Store>;
  listCollections(location: string): Promise<CollectionInfo[]>;
  /** Resolves to false when no such collection existed. */
  dropCollection(location: string, name: string): Promise<boolean>;
}
