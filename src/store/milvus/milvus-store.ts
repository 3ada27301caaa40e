// The Milvus Store: one Milvus collection per xmodal collection, HNSW on inner product, filters as expressions.
import { randomUUID } from 'node:crypto';
import { ConsistencyLevelEnum, DataType, type MilvusClient } from '@zilliz/milvus2-sdk-node';
import { xmodalError } from '../../errors.js';
import type {
  CollectionInfo,
  Filter,
  Item,
  ItemRecord,
  IterateOptions,
  MetaValue,
  SearchHit,
  SearchOptions,
  Store,
} from '../store.js';
import {
  checkIds,
  checkSearchOptions,
  checkStamp,
  type NormalisedFilter,
  normaliseFilter,
  prepareItems,
  prepareVector,
  type ResolvedOptions,
  specForOlderCollection,
} from '../validate.js';
import { filterToMilvusExpr, quote, typedMeta } from './filter-expr.js';

const UPSERT_BATCH = 500;
/** Milvus refuses a query page or a search top-k above this. */
const MAX_WINDOW = 16_384;
const MAX_ID = 8192;
const MAX_TAGS = 4096;
const LARGE_RECHECK_MS = 10_000;
const RECORD_FIELDS = ['id', 'modality', 'uri', 'content_hash', 'mime', 'tags', 'meta'];
/** Every read sees every write acknowledged before it, from any client: servers side by side rely on it. */
const STRONG = ConsistencyLevelEnum.Strong;

/** The stamp kept with the Milvus collection, so any client can tell what the collection holds. */
interface Stamp {
  xmodal: 1;
  info: CollectionInfo;
  /** Random, set when the collection is made: tells it from one dropped and made anew under the name. */
  made?: string;
}

type Row = Record<string, unknown>;

/** Milvus names allow `[A-Za-z0-9_]` and must not start with a digit; `_` → `__`, `-` → `_d` keeps them apart. */
export function milvusName(name: string): string {
  return `xm_${name.replace(/_/g, '__').replace(/-/g, '_d')}`;
}

/** The collection property that holds the stamp (Milvus Lite keeps properties, not descriptions). */
const STAMP_PROPERTY = 'xmodal.collection';

function readStamp(described: { properties?: { key: string; value: unknown }[] }): Stamp | undefined {
  const value = described.properties?.find((p) => p.key === STAMP_PROPERTY)?.value;
  try {
    const stamp = JSON.parse(String(value ?? '')) as Stamp;
    return stamp?.xmodal === 1 ? stamp : undefined;
  } catch {
    return undefined;
  }
}

export function parseStamp(described: {
  properties?: { key: string; value: unknown }[];
}): CollectionInfo | undefined {
  return readStamp(described)?.info;
}

/** Which making of a collection this is (Milvus Lite gives every collection id 0, so the stamp's token counts too). */
function identity(described: {
  collectionID: string;
  properties?: { key: string; value: unknown }[];
}): string {
  return `${described.collectionID}:${readStamp(described)?.made ?? ''}`;
}

/** Throws STORE_ERROR unless a Milvus response says Success. */
export function checkStatus<T extends object>(response: T, what: string): T {
  const status = ('status' in response ? response.status : response) as {
    error_code?: string;
    reason?: string;
    code?: number;
  };
  if (status && status.error_code !== undefined && status.error_code !== 'Success') {
    throw xmodalError('STORE_ERROR', `milvus ${what}: ${status.reason || status.error_code}`);
  }
  return response;
}

export class MilvusStore implements Store {
  readonly info: CollectionInfo;
  readonly #client: MilvusClient;
  readonly #collection: string;
  readonly #options: ResolvedOptions;
  /** Which making of the collection was opened (see `identity`): one dropped and made anew under the name is another. */
  readonly #collectionId: string;
  #closed = false;
  #largeUntil = 0;

  private constructor(
    client: MilvusClient,
    info: CollectionInfo,
    options: ResolvedOptions,
    collectionId: string,
  ) {
    this.#client = client;
    this.info = info;
    this.#collection = milvusName(info.name);
    this.#options = options;
    this.#collectionId = collectionId;
  }

  /** Creates the collection (schema, HNSW index, stamp) when missing, checks the stamp, loads it for search. */
  static async open(client: MilvusClient, options: ResolvedOptions): Promise<MilvusStore> {
    if (options.quantization !== 'f32') {
      throw xmodalError('BAD_ARGUMENT', 'the Milvus backend keeps f32 vectors; quantization must be f32');
    }
    const collection = milvusName(options.info.name);
    const exists = checkStatus(await client.hasCollection({ collection_name: collection }), 'hasCollection');
    let info = options.info;
    if (exists.value) {
      const described = checkStatus(
        await client.describeCollection({ collection_name: collection, cache: false }),
        'describeCollection',
      );
      const stamped = parseStamp(described);
      if (!stamped) throw xmodalError('CONFLICT', `Milvus collection ${collection} was not made by xmodal`);
      checkStamp(stamped, options.info);
      info = stamped;
      if (options.info.encoder && !stamped.encoder) {
        // Made before encoder specs were saved: stamp it with the opener's (migration).
        info = { ...stamped, encoder: specForOlderCollection(options.info.encoder) };
        const stamp: Stamp = { xmodal: 1, info, made: readStamp(described)?.made };
        checkStatus(
          await client.alterCollectionProperties({
            collection_name: collection,
            properties: { [STAMP_PROPERTY]: JSON.stringify(stamp) },
          }),
          'alterCollectionProperties',
        );
      }
    } else {
      await createCollection(client, collection, options);
    }
    checkStatus(await client.loadCollectionSync({ collection_name: collection }), 'loadCollection');
    const described = checkStatus(
      await client.describeCollection({ collection_name: collection, cache: false }),
      'describeCollection',
    );
    return new MilvusStore(client, info, options, identity(described));
  }

  async upsert(items: readonly Item[]): Promise<void> {
    this.#checkOpen();
    const prepared = prepareItems(items, this.info);
    for (const item of prepared) {
      if (item.id.length > MAX_ID)
        throw xmodalError('BAD_ARGUMENT', `item id longer than ${MAX_ID} characters`);
      if ((item.tags?.length ?? 0) > MAX_TAGS)
        throw xmodalError('BAD_ARGUMENT', `item ${item.id}: more than ${MAX_TAGS} tags`);
    }
    for (let start = 0; start < prepared.length; start += UPSERT_BATCH) {
      const rows = prepared.slice(start, start + UPSERT_BATCH).map((item) => ({
        id: item.id,
        embedding: Array.from(item.vector),
        modality: item.modality,
        uri: item.uri ?? null,
        content_hash: item.contentHash ?? null,
        mime: item.mime ?? null,
        tags: item.tags ? [...new Set(item.tags)] : [],
        meta: item.meta ?? {},
        meta_typed: Object.fromEntries(Object.entries(item.meta ?? {}).map(([k, v]) => [k, typedMeta(v)])),
      }));
      // Milvus has no lock to hold across the two calls: a drop in between is not caught here.
      await this.#checkOwnCollection();
      await this.#call('upsert', () =>
        this.#client.upsert({ collection_name: this.#collection, data: rows }),
      );
    }
  }

  async delete(ids: readonly string[]): Promise<number> {
    this.#checkOpen();
    const unique = checkIds(ids);
    let deleted = 0;
    // Milvus reports the ids it was asked to delete, not the ones that existed: look first.
    for (let start = 0; start < unique.length; start += UPSERT_BATCH) {
      const batch = unique.slice(start, start + UPSERT_BATCH);
      const existing = (await this.#query(`id in [${batch.map(quote).join(', ')}]`, ['id'])).map(
        (r) => r.id as string,
      );
      if (existing.length === 0) continue;
      await this.#call('delete', () =>
        this.#client.delete({
          collection_name: this.#collection,
          filter: `id in [${existing.map(quote).join(', ')}]`,
        }),
      );
      deleted += existing.length;
    }
    return deleted;
  }

  async get(id: string): Promise<Item | undefined> {
    this.#checkOpen();
    const [row] = await this.#query(`id in [${quote(id)}]`, [...RECORD_FIELDS, 'embedding']);
    return row && { ...toRecord(row), vector: Float32Array.from(row.embedding as number[]) };
  }

  async count(filter?: Filter): Promise<number> {
    this.#checkOpen();
    return this.#count(filterToMilvusExpr(normaliseFilter(filter)));
  }

  async *iterate(options: IterateOptions = {}): AsyncIterable<ItemRecord> {
    this.#checkOpen();
    const expr = filterToMilvusExpr(normaliseFilter(options.filter));
    const batchSize = Math.min(options.batchSize ?? 1000, MAX_WINDOW);
    for await (const page of this.#pages(expr, RECORD_FIELDS, batchSize)) yield* page.map(toRecord);
  }

  /**
   * At most `exactScanMax` matching items are ranked exactly here, from their stored vectors; more go through
   * Milvus's HNSW search with the filter as its expression (`ef` as the beam), falling back to an exact scan
   * when that finds fewer than k matches.
   */
  async search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    this.#checkOpen();
    const query = prepareVector(vector, this.info, 'query');
    const { k, ef } = checkSearchOptions(options, this.#options.defaultEf);
    const filter = normaliseFilter(options.filter);
    const expr = filterToMilvusExpr(filter);
    // Dropped, or made anew by another process (maybe with another model): not this collection's answers.
    await this.#checkOwnCollection();
    if (k > MAX_WINDOW || (await this.#matchesAtMost(filter, expr, this.#options.exactScanMax))) {
      return this.#exactSearch(query, k, expr);
    }
    const result = await this.#call('search', () =>
      this.#client.search({
        collection_name: this.#collection,
        anns_field: 'embedding',
        data: Array.from(query),
        limit: k,
        filter: expr ?? '',
        output_fields: RECORD_FIELDS,
        params: { ef: Math.min(Math.max(ef, k), 32_768) },
        consistency_level: STRONG,
      }),
    );
    const rows = result.results as Row[];
    if (filter && rows.length < k) return this.#exactSearch(query, k, expr);
    return rows.map((row) => ({ ...toRecord(row), score: Number(row.score) }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.closeConnection();
  }

  async #matchesAtMost(filter: NormalisedFilter | undefined, expr: string | undefined, limit: number) {
    if (!filter && Date.now() < this.#largeUntil) return false;
    const small = (await this.#count(expr)) <= limit;
    if (!filter && !small) this.#largeUntil = Date.now() + LARGE_RECHECK_MS;
    return small;
  }

  /** Streams every matching vector once, keeping only the best k: memory stays one page plus k. */
  async #exactSearch(query: Float32Array, k: number, expr: string | undefined): Promise<SearchHit[]> {
    const best: { row: Row; score: number }[] = [];
    for await (const page of this.#pages(expr, [...RECORD_FIELDS, 'embedding'], 1000)) {
      for (const row of page) {
        const embedding = row.embedding as number[];
        let score = 0;
        for (let i = 0; i < embedding.length; i++) score += embedding[i] * query[i];
        // Same f32 rounding as the server's and the other backends' scores.
        score = Math.fround(score);
        if (best.length === k && score <= best[k - 1].score) continue;
        best.push({ row, score });
        best.sort((a, b) => b.score - a.score || (a.row.id as string).localeCompare(b.row.id as string));
        if (best.length > k) best.pop();
      }
    }
    return best.map(({ row, score }) => ({ ...toRecord(row), score }));
  }

  /** Pages in primary-key order: `iterator` asks the server to sort each page by id, as its own iterators do. */
  async *#pages(expr: string | undefined, fields: string[], batchSize: number): AsyncIterable<Row[]> {
    let after: string | undefined;
    for (;;) {
      const cursor = after === undefined ? undefined : `id > ${quote(after)}`;
      const where = [expr, cursor]
        .filter(Boolean)
        .map((p) => `(${p})`)
        .join(' and ');
      const rows = await this.#query(where, fields, batchSize);
      if (rows.length > 0) yield rows;
      if (rows.length < batchSize) return;
      after = rows[rows.length - 1].id as string;
    }
  }

  async #query(expr: string, fields: string[], limit?: number): Promise<Row[]> {
    const result = await this.#call('query', () =>
      this.#client.query({
        collection_name: this.#collection,
        filter: expr,
        output_fields: fields,
        consistency_level: STRONG,
        ...(limit === undefined ? {} : { limit, params: { iterator: true, reduce_stop_for_best: true } }),
      }),
    );
    return result.data as Row[];
  }

  async #count(expr: string | undefined): Promise<number> {
    const result = await this.#call('count', () =>
      this.#client.query({
        collection_name: this.#collection,
        filter: expr ?? '',
        output_fields: ['count(*)'],
        consistency_level: STRONG,
      }),
    );
    return Number((result.data[0] as Row)['count(*)']);
  }

  async #call<T extends object>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return checkStatus(await action(), what);
    } catch (error) {
      throw asStoreError(error, `collection ${this.info.name}`);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw xmodalError('STORE_ERROR', `collection ${this.info.name} is closed`);
  }

  async #checkOwnCollection(): Promise<void> {
    const dropped = xmodalError('NOT_FOUND', `collection ${this.info.name} was dropped while it was open`);
    const described = await this.#call('describeCollection', () =>
      this.#client.describeCollection({ collection_name: this.#collection, cache: false }),
    ).catch(async (error: unknown) => {
      // One call while it exists; only a failed describe asks whether it is gone or the server in trouble.
      const exists = await this.#call('hasCollection', () =>
        this.#client.hasCollection({ collection_name: this.#collection }),
      );
      throw exists.value ? error : dropped;
    });
    if (identity(described) !== this.#collectionId) throw dropped;
  }
}

async function createCollection(client: MilvusClient, collection: string, options: ResolvedOptions) {
  const stamp: Stamp = { xmodal: 1, info: options.info, made: randomUUID() };
  checkStatus(
    await client.createCollection({
      collection_name: collection,
      description: `xmodal collection ${options.info.name}`,
      properties: { [STAMP_PROPERTY]: JSON.stringify(stamp) },
      consistency_level: 'Strong',
      fields: [
        { name: 'id', data_type: DataType.VarChar, is_primary_key: true, max_length: MAX_ID },
        { name: 'embedding', data_type: DataType.FloatVector, dim: options.info.dim },
        { name: 'modality', data_type: DataType.VarChar, max_length: 16 },
        { name: 'uri', data_type: DataType.VarChar, max_length: MAX_ID, nullable: true },
        { name: 'content_hash', data_type: DataType.VarChar, max_length: 256, nullable: true },
        { name: 'mime', data_type: DataType.VarChar, max_length: 256, nullable: true },
        {
          name: 'tags',
          data_type: DataType.Array,
          element_type: DataType.VarChar,
          max_capacity: MAX_TAGS,
          max_length: 1024,
        },
        { name: 'meta', data_type: DataType.JSON },
        { name: 'meta_typed', data_type: DataType.JSON },
      ],
    }),
    'createCollection',
  );
  checkStatus(
    await client.createIndex({
      collection_name: collection,
      field_name: 'embedding',
      index_type: 'HNSW',
      metric_type: 'IP',
      params: { M: options.m, efConstruction: options.efConstruction },
    }),
    'createIndex',
  );
}

export function asStoreError(error: unknown, context: string): Error {
  if (error instanceof Error && error.name === 'XmodalError') return error;
  return xmodalError('STORE_ERROR', `${context}: ${(error as Error).message}`, error);
}

function toRecord(row: Row): ItemRecord {
  const record: ItemRecord = { id: row.id as string, modality: row.modality as Item['modality'] };
  if (row.uri !== null && row.uri !== undefined) record.uri = row.uri as string;
  if (row.content_hash !== null && row.content_hash !== undefined)
    record.contentHash = row.content_hash as string;
  if (row.mime !== null && row.mime !== undefined) record.mime = row.mime as string;
  const tags = row.tags as string[] | null;
  if (tags && tags.length > 0) record.tags = tags;
  const meta = (typeof row.meta === 'string' ? JSON.parse(row.meta) : row.meta) as Record<
    string,
    MetaValue
  > | null;
  if (meta && Object.keys(meta).length > 0) record.meta = meta;
  return record;
}
