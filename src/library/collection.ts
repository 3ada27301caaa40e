// The library's collections: open one on any store, index paths, buffers or streams, search, get, delete,
// ask and measure it. Results have the shapes the CLI prints with --json.
import type { Encoder, Modality } from '../encoders/encoder.js';
import { xmodalError } from '../errors.js';
import { DEFAULT_MAX_INPUT_BYTES } from '../media/input.js';
import type { CollectionInfo, Filter, MetaValue, SearchHit } from '../store/store.js';
import type { AuditResult } from '../tasks/audit.js';
import type { ChatApi, ChatEndpoint } from '../tasks/chat.js';
import { dropCollection as dropWorkspaceCollection, ingestUnderLock } from '../tasks/collection-lock.js';
import { buildDemoCollection, DEMO_COLLECTION } from '../tasks/demo.js';
import { type FairReport, fairSearch } from '../tasks/fair-search.js';
import type { IngestProgress, IngestReport } from '../tasks/ingest.js';
import { collectionQuality, type QualityReport } from '../tasks/quality.js';
import { projectTo2d, scatterSvg, writePlot } from '../tasks/quality-plot.js';
import { type Answer, ask } from '../tasks/rag.js';
import { CrossEncoderReranker, HttpReranker, type TextReranker } from '../tasks/rerank.js';
import type { Fusion } from '../tasks/retrieve.js';
import { hitJson, type QueryPart, searchCollection } from '../tasks/search.js';
import { keepUploads, type UploadedFile } from '../tasks/uploads.js';
import type { VideoOptions } from '../tasks/video.js';
import {
  DEFAULT_COLLECTION,
  findCollection,
  listWorkspaceCollections,
  type OpenCollection,
  openCollection as openStored,
  type Workspace,
} from '../tasks/workspace.js';
import { type ModelOptions, modelSpec } from './model.js';
import { type AuditRequest, runAudit } from './tasks.js';

/** Where collections live: the CLI's `--home` (env `XMODAL_HOME`, default `~/.xmodal`) or `--store URL`. */
export interface StoreOptions {
  /** A folder for the embedded store (and uploaded files). */
  home?: string;
  /** A store URL instead, e.g. `postgres://user:pass@host/db`. */
  store?: string;
}

export interface OpenOptions extends StoreOptions, Omit<ModelOptions, 'model'> {
  /** The model a new collection is made with; an existing one is opened with its own and refuses another. */
  model?: string;
  /** Create the collection when it does not exist (default true, as `xmodal index` does). */
  create?: boolean;
}

/** Something to index: a path (file, folder or glob), or a file's bytes or stream with the name to keep it under. */
export type IndexSource =
  | string
  | { name: string; data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> };

/** `xmodal index`'s options. */
export interface IndexOptions {
  /** Tags given to every item of this run (`--tag`). */
  tags?: string[];
  /** Remove items whose files are gone (`--prune`). */
  prune?: boolean;
  /** Called after every file. */
  onProgress?: (progress: IndexProgress) => void;
  /** Stops the run between files; what was written stays (each file is written whole). */
  signal?: AbortSignal;
  /** How videos are sampled (`--frame-every`, `--scene-threshold`, `--max-frames`, `--audio-window`). */
  video?: VideoOptions;
  /**
   * Called once, with the other process's id, when another run is indexing this collection: one run per
   * collection at a time (across processes), so this one waits for it.
   */
  onWait?: (holder: number) => void;
}

export type IndexProgress = IngestProgress;

/** `xmodal index --json`. */
export interface IndexReport extends IngestReport {
  collection: string;
}

/** One weighted query part: the CLI's `VALUE@WEIGHT`. */
export interface Weighted<T> {
  value: T;
  weight: number;
}

/** One query value, weighted or not, or several. */
export type Many<T> = T | Weighted<T> | readonly (T | Weighted<T>)[];

/** `xmodal search`'s query parts and filters; every part is optional, at least one is needed. */
export interface SearchRequest {
  /** Text query parts (`[query]`, `--text`). */
  text?: Many<string>;
  /** Image query parts: paths or bytes (`--image`). */
  image?: Many<string | Uint8Array>;
  /** Audio query parts: paths or bytes (`--audio`). */
  audio?: Many<string | Uint8Array>;
  /** Indexed items as query parts, by id (`--like`). */
  like?: Many<string>;
  /** Texts to steer away from, weight 0.5 unless given (`--not`). */
  not?: Many<string>;
  /** Only results of this modality (`--modality`). */
  modality?: Modality;
  /** Number of results, default 10 (`-k`). */
  k?: number;
  /** Drop results below this cosine similarity (`--min-score`). */
  minScore?: number;
  /** Only items with one of these tags (`--tag`), or all of them with `allTags` (`--all-tags`). */
  tags?: string[];
  allTags?: boolean;
  /** Only items whose path starts with this (`--path-prefix`). */
  pathPrefix?: string;
  /** Exact metadata matches, as the HTTP API's `filter.meta`. */
  meta?: Record<string, MetaValue>;
  /** Re-rank so each group of this attribute gets its share of the results (`--fair`). */
  fair?: string;
  /** With `fair`: the most score an item may lose its place to, default 0.05 (`--fair-margin`). */
  fairMargin?: number;
}

/** One hit of `xmodal search --json`. */
export interface SearchResult {
  id: string;
  score: number;
  modality: Modality;
  uri?: string;
  mime?: string;
  tags?: string[];
  meta?: Record<string, MetaValue>;
}

/** `xmodal search --json`. */
export interface SearchResults {
  /** With `fair`: what the re-ranking did. */
  fair?: FairReport;
  results: SearchResult[];
}

/** An item as stored, without its vector unless asked for. */
export interface ItemView {
  id: string;
  modality: Modality;
  uri?: string;
  mime?: string;
  tags?: string[];
  meta?: Record<string, MetaValue>;
  vector?: number[];
}

/** A collection's description and its item counts (the HTTP API's `/collections/:name/stats`). */
export interface CollectionStats extends CollectionInfo {
  items: number;
  modalities: Record<Modality, number>;
  modalitiesSupported: readonly Modality[];
}

/** `xmodal ask`'s options. Without `llm` it stops at the sources (`--sources-only`). */
export interface AskRequest {
  /** The LLM: an OpenAI-compatible base URL (…/v1) or Ollama, and its model (`--llm-url`, `--llm-model`). */
  llm?: { url: string; model: string; api?: ChatApi; apiKey?: string; timeoutMs?: number };
  /** Documents given to the LLM, default 5 (`--sources`). */
  sources?: number;
  /** Documents retrieved and reranked, default 20 (`--candidates`). */
  candidates?: number;
  /** How per-modality rankings are fused, default `rrf` (`--fusion`). */
  fusion?: Fusion;
  /** Rescore candidates with the encoder, default true (`--no-rescore`). */
  rescore?: boolean;
  /** A rerank endpoint (`--rerank-url`, `--rerank-model`), or a local cross-encoder folder (`--cross-encoder`). */
  rerank?: { url: string; model?: string; apiKey?: string } | { crossEncoder: string };
  /** Attach the sources' images for a vision model (`--images`). */
  images?: boolean;
}

/** `xmodal ask --json`: the answer and the sources it cites, without the prompt that was sent. */
export type AskResult = Omit<Answer, 'messages'>;

/** `xmodal quality`'s options. */
export interface QualityRequest {
  /** k-means clusters, default √(n/2) between 2 and 10 (`-k`). */
  k?: number;
  /** Measure at most this many items, evenly spread; default 2000 (`--sample`). */
  sample?: number;
  /** Write a 2-D PCA projection to this .svg or .png file (`--plot`). */
  plot?: string;
}

/** `xmodal quality --json`. */
export type QualityResult = QualityReport;

function weighted<T>(
  value: Many<T> | undefined,
  sign = 1,
  defaultWeight = 1,
): { value: T; weight: number }[] {
  if (value === undefined) return [];
  const list = (Array.isArray(value) ? value : [value]) as (T | Weighted<T>)[];
  return list.map((v) => {
    const w =
      typeof v === 'object' && v !== null && 'value' in v && 'weight' in v
        ? v
        : { value: v as T, weight: defaultWeight };
    return { value: w.value, weight: sign * w.weight };
  });
}

/** The search request as query parts, the CLI's way: `not` parts weigh −0.5 unless given. */
export function queryParts(request: SearchRequest): QueryPart[] {
  return [
    ...weighted(request.text).map((p) => ({ kind: 'text' as const, ...p })),
    ...weighted(request.image).map((p) => ({ kind: 'image' as const, ...p })),
    ...weighted(request.audio).map((p) => ({ kind: 'audio' as const, ...p })),
    ...weighted(request.like).map((p) => ({ kind: 'like' as const, ...p })),
    ...weighted(request.not, -1, 0.5).map((p) => ({ kind: 'text' as const, ...p })),
  ];
}

/** The search request's filters as a store filter. */
export function searchFilter(request: SearchRequest): Filter {
  const tags = request.tags?.length
    ? request.allTags
      ? { tagsAll: request.tags }
      : { tagsAny: request.tags }
    : {};
  return { modality: request.modality, ...tags, uriPrefix: request.pathPrefix, meta: request.meta };
}

async function readAll(
  data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  name: string,
): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of data as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > DEFAULT_MAX_INPUT_BYTES)
      throw xmodalError('INPUT_TOO_LARGE', `${name}: over ${DEFAULT_MAX_INPUT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An open collection. Close it when done: that saves the index and frees the model. */
export class Collection {
  private constructor(
    readonly name: string,
    private readonly opened: OpenCollection,
    private readonly workspace: Workspace,
  ) {}

  /**
   * The demo collection (`xmodal demo`): OpenMoji emoji and the shipped instrument, drum and speech clips,
   * built on first use and brought up to date after. `onProgress` hears each stage.
   */
  static async openDemo(
    options: StoreOptions & {
      model?: string;
      onProgress?: (stage: string, report?: IngestReport) => void;
    } = {},
  ): Promise<Collection> {
    const workspace = { home: options.home, store: options.store };
    const opened = await buildDemoCollection(workspace, {
      model: options.model,
      onProgress: options.onProgress,
    });
    return new Collection(DEMO_COLLECTION, opened, workspace);
  }

  /** Opens (by default creating) a collection with the model that made it. */
  static async open(name: string, options: OpenOptions = {}): Promise<Collection> {
    const workspace = { home: options.home, store: options.store };
    const opened = await openStored(workspace, name, {
      model: modelSpec(options),
      create: options.create ?? true,
      encoder: { dtype: options.dtype, offline: options.offline, cacheDir: options.cacheDir },
    });
    return new Collection(name, opened, workspace);
  }

  /** Its name, dimension, metric and the id of the model that made it. */
  get info(): CollectionInfo {
    return this.opened.info;
  }

  /** The model the collection was made with (pass it as `model` to other calls to reuse it). */
  get encoder(): Encoder {
    return this.opened.encoder;
  }

  /**
   * Indexes files, folders and globs (`xmodal index`), and files given as bytes or streams (kept under
   * `<home>/uploads/<collection>/`). Unchanged files are skipped; bad files are reported in `failed`.
   */
  async index(sources: readonly IndexSource[], options: IndexOptions = {}): Promise<IndexReport> {
    options.signal?.throwIfAborted();
    const paths: string[] = [];
    const uploads: UploadedFile[] = [];
    for (const source of sources) {
      if (typeof source === 'string') paths.push(source);
      else {
        uploads.push({ filename: source.name, bytes: await readAll(source.data, source.name) });
        options.signal?.throwIfAborted();
      }
    }
    let shown = new Map<string, string>();
    // Written once the collection's lock is held, so a drop running now cannot delete them before they are indexed.
    const prepare = async () => {
      // Dropped while this run waited: refused before any upload is written where nothing would index it.
      if (!(await findCollection(this.workspace, this.name)))
        throw xmodalError('NOT_FOUND', `collection "${this.name}" was dropped while it was open`);
      if (uploads.length === 0) return { collection: this.opened, paths };
      const kept = await keepUploads(this.workspace, this.name, uploads);
      shown = kept.shown;
      return { collection: this.opened, paths: [...paths, ...kept.paths] };
    };
    const report = await ingestUnderLock(this.workspace, this.name, prepare, {
      tags: options.tags,
      prune: options.prune,
      onProgress: options.onProgress,
      signal: options.signal,
      video: options.video,
      onWait: options.onWait,
    });
    return {
      collection: this.name,
      ...report,
      failed: report.failed.map((f) => ({ ...f, path: shown.get(f.path) ?? f.path })),
      skipped: report.skipped.map((f) => ({ ...f, path: shown.get(f.path) ?? f.path })),
    };
  }

  /** Searches with the CLI's query parts and filters (`xmodal search`); best first. */
  async search(request: SearchRequest | string): Promise<SearchResults> {
    const query = typeof request === 'string' ? { text: request } : request;
    const parts = queryParts(query);
    if (parts.length === 0)
      throw xmodalError('BAD_ARGUMENT', 'nothing to search for: give text, image, audio or like');
    const k = query.k ?? 10;
    if (!Number.isInteger(k) || k < 1) throw xmodalError('BAD_ARGUMENT', 'k must be a positive integer');
    const search = { parts, k, filter: searchFilter(query), minScore: query.minScore };
    const { hits, fair }: { hits: SearchHit[]; fair?: FairReport } = query.fair
      ? await fairSearch(this.opened, search, { attribute: query.fair, margin: query.fairMargin })
      : { hits: await searchCollection(this.opened, search) };
    return {
      ...(fair ? { fair } : {}),
      results: hits.map(hitJson),
    };
  }

  /** One item by id; its vector too with `{vector: true}`. */
  async get(id: string, options: { vector?: boolean } = {}): Promise<ItemView | undefined> {
    const item = await this.opened.store.get(id);
    if (!item) return undefined;
    const { vector, contentHash: _, ...rest } = item;
    return options.vector ? { ...rest, vector: Array.from(vector) } : rest;
  }

  /** Deletes items by id; resolves to how many existed. */
  async delete(ids: string | readonly string[]): Promise<number> {
    return this.opened.store.delete(typeof ids === 'string' ? [ids] : ids);
  }

  /** Items matching a filter (all without one). */
  count(filter?: Filter): Promise<number> {
    return this.opened.store.count(filter);
  }

  /** The collection's description and item counts per modality. */
  async stats(): Promise<CollectionStats> {
    const { store, info, encoder } = this.opened;
    const [items, text, image, audio] = await Promise.all([
      store.count(),
      store.count({ modality: 'text' }),
      store.count({ modality: 'image' }),
      store.count({ modality: 'audio' }),
    ]);
    return { ...info, items, modalities: { text, image, audio }, modalitiesSupported: encoder.modalities };
  }

  /** Multimodal RAG over the collection (`xmodal ask`): retrieval, reranking, an LLM answer citing sources. */
  async ask(question: string, request: AskRequest = {}): Promise<AskResult> {
    const rerank = request.rerank;
    const crossEncoder =
      rerank && 'crossEncoder' in rerank ? new CrossEncoderReranker(rerank.crossEncoder) : undefined;
    const textReranker: TextReranker | undefined =
      rerank && 'url' in rerank ? new HttpReranker(rerank.url, rerank.model, rerank.apiKey) : crossEncoder;
    try {
      const llm: ChatEndpoint | undefined = request.llm;
      const { messages: _, ...answer } = await ask(this.opened, question, {
        sources: request.sources,
        rerankTop: request.candidates,
        fusion: request.fusion,
        rescore: request.rescore,
        textReranker,
        sendImages: request.images,
        llm,
      });
      return answer;
    } finally {
      await crossEncoder?.dispose();
    }
  }

  /** Embedding-quality metrics (`xmodal quality`), and a 2-D plot with `plot`. */
  async quality(request: QualityRequest = {}): Promise<QualityResult> {
    const { records, vectors, ...report } = await collectionQuality(this.opened, {
      k: request.k,
      sample: request.sample,
    });
    if (request.plot) {
      const title = `${report.collection}: ${report.n} items, ${this.encoder.id.split('/').at(-1)}`;
      await writePlot(request.plot, scatterSvg(projectTo2d(vectors), records, title));
    }
    return report;
  }

  /** Bias audit of the collection's model, its items labelled `group.<attribute>` as the exposure pool (`xmodal audit -c`). */
  audit(request: Omit<AuditRequest, keyof ModelOptions> = {}): Promise<AuditResult> {
    return runAudit(this.encoder, request, this.opened.store);
  }

  /** Saves the index and frees the model. */
  close(): Promise<void> {
    return this.opened.close();
  }
}

/** Opens a collection (`default` unless named), creating it unless `create: false`. */
export function openCollection(
  name: string = DEFAULT_COLLECTION,
  options: OpenOptions = {},
): Promise<Collection> {
  return Collection.open(name, options);
}

/** Opens the demo collection, building it the first time (`xmodal demo`); see {@link Collection.openDemo}. */
export function openDemoCollection(
  options: Parameters<typeof Collection.openDemo>[0] = {},
): Promise<Collection> {
  return Collection.openDemo(options);
}

/** Every collection in the store, with its model and dimension. */
export function listCollections(options: StoreOptions = {}): Promise<CollectionInfo[]> {
  return listWorkspaceCollections(options);
}

/**
 * Deletes a collection and the files uploaded to it, once an indexing run on it (in any process) has finished;
 * resolves to false when there was none.
 */
export async function dropCollection(name: string, options: StoreOptions = {}): Promise<boolean> {
  return dropWorkspaceCollection(options, name);
}
