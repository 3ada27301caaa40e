// The PostgreSQL + pgvector Store: one table per collection, an HNSW index on inner product, filters in SQL.
import pg from 'pg';
import { errorMessage, XmodalError, xmodalError } from '../../errors.js';
import type { EncoderSpec } from '../../types.js';
import type {
  CollectionInfo,
  Filter,
  IndexQuantization,
  Item,
  ItemRecord,
  IterateOptions,
  MetaValue,
  Metric,
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
import { filterToPgSql } from './filter-sql.js';

export const COLLECTIONS_TABLE = 'xmodal_collections';
// PostgreSQL's error code for a table that does not exist (dropped while a handle was open).
const UNDEFINED_TABLE = '42P01';
const UPSERT_BATCH = 500;
// pgvector refuses larger values of hnsw.ef_search.
const MAX_EF_SEARCH = 1000;
// A table seen larger than exactScanMax is not counted again for this long (counting reads up to that many rows).
const LARGE_RECHECK_MS = 10_000;

const RECORD_COLUMNS = 'id, modality, uri, content_hash, mime, tags, meta';

interface RecordRow {
  id: string;
  modality: Item['modality'];
  uri: string | null;
  content_hash: string | null;
  mime: string | null;
  tags: string[];
  meta: Record<string, MetaValue>;
}

/** Quoted table name for a collection; names are checked to `[A-Za-z0-9_-]`, so quoting is all it needs. */
export function itemsTable(name: string, suffix = ''): string {
  return `"xm_${name}${suffix}"`;
}

export class PgvectorStore implements Store {
  readonly info: CollectionInfo;
  readonly #pool: pg.Pool;
  readonly #table: string;
  readonly #options: ResolvedOptions;
  /** `vector` or `halfvec`: the type the HNSW index was built on, fixed when the collection was created. */
  readonly #indexType: 'vector' | 'halfvec';
  /** The table's oid when opened: a table dropped and made anew under the name has another. */
  readonly #tableOid: string;
  #closed = false;
  /** Until when an unfiltered search may skip counting: the table was seen larger than exactScanMax. */
  #largeUntil = 0;

  private constructor(
    pool: pg.Pool,
    info: CollectionInfo,
    options: ResolvedOptions,
    indexType: 'vector' | 'halfvec',
    tableOid: string,
  ) {
    this.#pool = pool;
    this.#tableOid = tableOid;
    this.info = info;
    this.#table = itemsTable(info.name);
    this.#options = options;
    this.#indexType = indexType;
  }

  /** Connects, creates the extension, the collections table and this collection's table when missing, checks the stamp. */
  static async open(connectionString: string, options: ResolvedOptions): Promise<PgvectorStore> {
    if (options.quantization === 'i8') {
      throw xmodalError(
        'BAD_ARGUMENT',
        'pgvector supports quantization f32 (vector) or f16 (halfvec), not i8',
      );
    }
    const pool = newPool(connectionString, 4);
    try {
      const { info, indexType, oid } = await withTransaction(pool, async (client) => ({
        ...(await ensureCollection(client, options)),
        oid: await tableOid(client, itemsTable(options.info.name)),
      }));
      return new PgvectorStore(pool, info, options, indexType, oid as string);
    } catch (error) {
      await pool.end();
      throw asStoreError(error, `cannot open collection ${options.info.name}`);
    }
  }

  async upsert(items: readonly Item[]): Promise<void> {
    this.#checkOpen();
    const prepared = prepareItems(items, this.info);
    if (prepared.length === 0) return;
    const sql = `
      INSERT INTO ${this.#table} (id, modality, uri, content_hash, mime, tags, meta, embedding)
      SELECT r.id, r.modality, r.uri, r.content_hash, r.mime,
             ARRAY(SELECT jsonb_array_elements_text(COALESCE(r.tags, '[]'::jsonb))),
             COALESCE(r.meta, '{}'::jsonb), r.embedding::vector
      FROM jsonb_to_recordset($1::jsonb)
        AS r(id text, modality text, uri text, content_hash text, mime text, tags jsonb, meta jsonb, embedding text)
      ON CONFLICT (id) DO UPDATE SET
        modality = EXCLUDED.modality, uri = EXCLUDED.uri, content_hash = EXCLUDED.content_hash,
        mime = EXCLUDED.mime, tags = EXCLUDED.tags, meta = EXCLUDED.meta, embedding = EXCLUDED.embedding`;
    await this.#run(async () => {
      await withTransaction(this.#pool, async (client) => {
        await this.#lockOwnTable(client);
        for (let start = 0; start < prepared.length; start += UPSERT_BATCH) {
          const rows = prepared.slice(start, start + UPSERT_BATCH).map((item) => ({
            id: item.id,
            modality: item.modality,
            uri: item.uri ?? null,
            content_hash: item.contentHash ?? null,
            mime: item.mime ?? null,
            tags: item.tags ? [...new Set(item.tags)] : null,
            meta: item.meta ?? null,
            embedding: vectorLiteral(item.vector),
          }));
          await client.query(sql, [JSON.stringify(rows)]);
        }
      });
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    this.#checkOpen();
    const unique = checkIds(ids);
    if (unique.length === 0) return 0;
    const result = await this.#run(() =>
      withTransaction(this.#pool, async (client) => {
        await this.#lockOwnTable(client);
        return client.query(`DELETE FROM ${this.#table} WHERE id = ANY($1::text[])`, [unique]);
      }),
    );
    return result.rowCount ?? 0;
  }

  async get(id: string): Promise<Item | undefined> {
    this.#checkOpen();
    const result = await this.#run(() =>
      this.#pool.query<RecordRow & { embedding: string }>(
        `SELECT ${RECORD_COLUMNS}, embedding::text AS embedding FROM ${this.#table} WHERE id = $1`,
        [id],
      ),
    );
    const row = result.rows[0];
    return row && { ...toRecord(row), vector: parseVector(row.embedding) };
  }

  async count(filter?: Filter): Promise<number> {
    this.#checkOpen();
    const where = filterToPgSql(normaliseFilter(filter), 1);
    const result = await this.#run(() =>
      this.#pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${this.#table} WHERE ${where.sql}`,
        where.params,
      ),
    );
    return Number(result.rows[0].n);
  }

  async *iterate(options: IterateOptions = {}): AsyncIterable<ItemRecord> {
    this.#checkOpen();
    const where = filterToPgSql(normaliseFilter(options.filter), 1);
    const batchSize = options.batchSize ?? 1000;
    const next = where.params.length + 1;
    let after: string | undefined;
    for (;;) {
      const sql =
        `SELECT ${RECORD_COLUMNS} FROM ${this.#table} WHERE ${where.sql}` +
        `${after === undefined ? '' : ` AND id > $${next + 1}`} ORDER BY id LIMIT $${next}`;
      const params = after === undefined ? [...where.params, batchSize] : [...where.params, batchSize, after];
      const result = await this.#run(() => this.#pool.query<RecordRow>(sql, params));
      yield* result.rows.map(toRecord);
      if (result.rows.length < batchSize) return;
      after = result.rows[result.rows.length - 1].id;
    }
  }

  /**
   * At most `exactScanMax` matching rows (filtered or not) are ranked exactly, in a materialised CTE the index
   * cannot serve. More go through the HNSW index with `hnsw.ef_search = ef`; a filter uses pgvector's iterative
   * index scan and falls back to exact when that yields fewer than k rows.
   */
  async search(vector: Float32Array, options: SearchOptions): Promise<SearchHit[]> {
    this.#checkOpen();
    const query = vectorLiteral(prepareVector(vector, this.info, 'query'));
    const { k, ef } = checkSearchOptions(options, this.#options.defaultEf);
    const filter = normaliseFilter(options.filter);
    return this.#run(async () => {
      const client = await this.#pool.connect();
      try {
        if (await this.#matchesAtMost(client, filter, this.#options.exactScanMax)) {
          return await this.#exactSearch(client, query, k, filter);
        }
        if (!filter) this.#largeUntil = Date.now() + LARGE_RECHECK_MS;
        await client.query(
          "SELECT set_config('hnsw.ef_search', $1, false), set_config('hnsw.iterative_scan', $2, false)",
          [String(Math.min(ef, MAX_EF_SEARCH)), filter || k > MAX_EF_SEARCH ? 'strict_order' : 'off'],
        );
        const where = filterToPgSql(filter, 3);
        const distance =
          this.#indexType === 'halfvec'
            ? `embedding::halfvec(${this.info.dim}) <#> $1::halfvec(${this.info.dim})`
            : 'embedding <#> $1::vector';
        const result = await client.query<RecordRow & { score: number; table_oid: string }>(
          `SELECT ${RECORD_COLUMNS}, ${this.#oidColumn()}, (embedding <#> $1::vector) * -1 AS score FROM ${this.#table}
           WHERE ${where.sql} ORDER BY ${distance} LIMIT $2`,
          [query, k, ...where.params],
        );
        if (filter && result.rows.length < k) return await this.#exactSearch(client, query, k, filter);
        await this.#checkOwnRows(client, result.rows);
        const hits = result.rows.map(toHit);
        // A halfvec index orders by rounded distances; the scores are exact, so put them back in order.
        return this.#indexType === 'halfvec' ? hits.sort((a, b) => b.score - a.score) : hits;
      } finally {
        client.release();
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async #matchesAtMost(
    client: pg.PoolClient,
    filter: NormalisedFilter | undefined,
    limit: number,
  ): Promise<boolean> {
    if (!filter && Date.now() < this.#largeUntil) return false;
    const where = filterToPgSql(filter, 2);
    const result = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${this.#table} WHERE ${where.sql} LIMIT $1) AS m`,
      [limit + 1, ...where.params],
    );
    return Number(result.rows[0].n) <= limit;
  }

  async #exactSearch(
    client: pg.PoolClient,
    query: string,
    k: number,
    filter: NormalisedFilter | undefined,
  ): Promise<SearchHit[]> {
    const where = filterToPgSql(filter, 3);
    const result = await client.query<RecordRow & { score: number; table_oid: string }>(
      `WITH m AS MATERIALIZED (SELECT * FROM ${this.#table} WHERE ${where.sql})
       SELECT ${RECORD_COLUMNS}, ${this.#oidColumn()}, (embedding <#> $1::vector) * -1 AS score FROM m
       ORDER BY score DESC LIMIT $2`,
      [query, k, ...where.params],
    );
    await this.#checkOwnRows(client, result.rows);
    return result.rows.map(toHit);
  }

  async #run<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if ((error as { code?: unknown }).code === UNDEFINED_TABLE) throw this.#dropped();
      throw asStoreError(error, `collection ${this.info.name}`);
    }
  }

  #dropped(): Error {
    return xmodalError('NOT_FOUND', `collection ${this.info.name} was dropped while it was open`);
  }

  async #checkOwnTable(client: pg.PoolClient): Promise<void> {
    if ((await tableOid(client, this.#table)) !== this.#tableOid) throw this.#dropped();
  }

  /** The table's oid as a result column `table_oid`, so a search checks its table without another round trip. */
  #oidColumn(): string {
    // The table name is checked to [A-Za-z0-9_-] and quoted: safe inside a string literal.
    return `to_regclass('${this.#table}')::oid::text AS table_oid`;
  }

  /**
   * Dropped, or made anew by another process (maybe with another model): not this collection's answers. Rows say
   * which table they came from; no rows, and the table is asked.
   */
  async #checkOwnRows(client: pg.PoolClient, rows: readonly { table_oid: string }[]): Promise<void> {
    if (rows.length === 0 || rows[0].table_oid !== this.#tableOid) await this.#checkOwnTable(client);
  }

  /** Held until the transaction ends, so the table cannot be dropped (and made anew) between the check and the write. */
  async #lockOwnTable(client: pg.PoolClient): Promise<void> {
    await client.query(`LOCK TABLE ${this.#table} IN ROW EXCLUSIVE MODE`);
    await this.#checkOwnTable(client);
  }

  #checkOpen(): void {
    if (this.#closed) throw xmodalError('STORE_ERROR', `collection ${this.info.name} is closed`);
  }
}

async function ensureCollection(
  client: pg.PoolClient,
  options: ResolvedOptions,
): Promise<{ info: CollectionInfo; indexType: 'vector' | 'halfvec' }> {
  const { name, dim, metric, encoderId, encoder } = options.info;
  // Serialises concurrent first opens of one collection; DDL is transactional in PostgreSQL.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`xmodal:${name}`]);
  await ensureSchema(client);
  const existing = await client.query<{
    dim: number;
    metric: Metric;
    encoder_id: string;
    encoder: EncoderSpec | null;
    index_type: string;
  }>(`SELECT dim, metric, encoder_id, encoder, index_type FROM ${COLLECTIONS_TABLE} WHERE name = $1`, [name]);
  if (existing.rows[0]) {
    const row = existing.rows[0];
    const info: CollectionInfo = { name, dim: row.dim, metric: row.metric, encoderId: row.encoder_id };
    if (row.encoder) info.encoder = row.encoder;
    checkStamp(info, options.info);
    if (encoder && !info.encoder) {
      // Made before specs were saved: stamp it with the opener's (migration), weights left unclaimed.
      const migrated = specForOlderCollection(encoder);
      await client.query(`UPDATE ${COLLECTIONS_TABLE} SET encoder = $2 WHERE name = $1`, [
        name,
        JSON.stringify(migrated),
      ]);
      info.encoder = migrated;
    }
    return { info, indexType: row.index_type === 'halfvec' ? 'halfvec' : 'vector' };
  }
  const indexType = quantizationIndexType(options.quantization);
  await client.query(
    `INSERT INTO ${COLLECTIONS_TABLE} (name, dim, metric, encoder_id, encoder, index_type) VALUES ($1, $2, $3, $4, $5, $6)`,
    [name, dim, metric, encoderId, encoder ? JSON.stringify(encoder) : null, indexType],
  );
  const table = itemsTable(name);
  await client.query(`
    CREATE TABLE ${table} (
      id text COLLATE "C" PRIMARY KEY,
      modality text NOT NULL,
      uri text COLLATE "C",
      content_hash text,
      mime text,
      tags text[] NOT NULL DEFAULT '{}',
      meta jsonb NOT NULL DEFAULT '{}',
      embedding vector(${dim}) NOT NULL
    )`);
  const { m, efConstruction } = options;
  const indexed =
    indexType === 'halfvec' ? `(embedding::halfvec(${dim})) halfvec_ip_ops` : 'embedding vector_ip_ops';
  await client.query(
    `CREATE INDEX ${itemsTable(name, '_hnsw')} ON ${table} USING hnsw (${indexed})
     WITH (m = ${m}, ef_construction = ${Math.max(efConstruction, 2 * m)})`,
  );
  await client.query(`CREATE INDEX ${itemsTable(name, '_uri')} ON ${table} (uri)`);
  await client.query(`CREATE INDEX ${itemsTable(name, '_modality')} ON ${table} (modality)`);
  await client.query(`CREATE INDEX ${itemsTable(name, '_tags')} ON ${table} USING gin (tags)`);
  await client.query(`CREATE INDEX ${itemsTable(name, '_meta')} ON ${table} USING gin (meta jsonb_path_ops)`);
  return { info: options.info, indexType };
}

export async function ensureSchema(client: pg.ClientBase): Promise<void> {
  const installed = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'vector'");
  if (installed.rowCount === 0) await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${COLLECTIONS_TABLE} (
      name text COLLATE "C" PRIMARY KEY,
      dim integer NOT NULL,
      metric text NOT NULL,
      encoder_id text NOT NULL,
      encoder jsonb,
      index_type text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  // Databases made before encoder specs were saved gain the column; their rows get a spec on next open.
  const hasSpecs = await client.query(
    "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'encoder' AND NOT attisdropped",
    [COLLECTIONS_TABLE],
  );
  if (hasSpecs.rowCount === 0)
    await client.query(`ALTER TABLE ${COLLECTIONS_TABLE} ADD COLUMN IF NOT EXISTS encoder jsonb`);
}

function quantizationIndexType(quantization: IndexQuantization): 'vector' | 'halfvec' {
  return quantization === 'f16' ? 'halfvec' : 'vector';
}

/** A pool that survives the server dropping an idle connection (restart, failover): the next query reconnects. */
export function newPool(connectionString: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max });
  pool.on('error', () => {});
  return pool;
}

export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** The table's oid as text, or null when there is no such table. */
async function tableOid(client: pg.PoolClient, table: string): Promise<string | null> {
  const result = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [
    table,
  ]);
  return result.rows[0].oid;
}

export function asStoreError(error: unknown, context: string): Error {
  if (error instanceof XmodalError) return error;
  return xmodalError('STORE_ERROR', `${context}: ${errorMessage(error)}`, error);
}

/** pgvector's text form; JS prints each f32 exactly enough to read back the same f32. */
function vectorLiteral(vector: Float32Array): string {
  return `[${vector.join(',')}]`;
}

function parseVector(text: string): Float32Array {
  return Float32Array.from(text.slice(1, -1).split(','), Number);
}

function toRecord(row: RecordRow): ItemRecord {
  const record: ItemRecord = { id: row.id, modality: row.modality };
  if (row.uri !== null) record.uri = row.uri;
  if (row.content_hash !== null) record.contentHash = row.content_hash;
  if (row.mime !== null) record.mime = row.mime;
  if (row.tags.length > 0) record.tags = row.tags;
  if (Object.keys(row.meta).length > 0) record.meta = row.meta;
  return record;
}

function toHit(row: RecordRow & { score: number }): SearchHit {
  return { ...toRecord(row), score: Number(row.score) };
}
