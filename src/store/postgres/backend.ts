// The pgvector backend: a PostgreSQL database holding a collections table and one items table per collection.
import type pg from 'pg';
import type { EncoderSpec } from '../../types.js';
import type { CollectionInfo, Metric, OpenStoreOptions, StoreBackend } from '../store.js';
import { checkCollectionName, resolveOpenOptions } from '../validate.js';
import {
  asStoreError,
  COLLECTIONS_TABLE,
  itemsTable,
  newPool,
  PgvectorStore,
  withTransaction,
} from './pgvector-store.js';

export const postgresBackend: StoreBackend = {
  async open(connectionString: string, options: OpenStoreOptions) {
    return PgvectorStore.open(connectionString, resolveOpenOptions(options));
  },

  async listCollections(connectionString: string): Promise<CollectionInfo[]> {
    return withPool(connectionString, async (pool) => {
      const exists = await pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
        COLLECTIONS_TABLE,
      ]);
      if (exists.rows[0].t === null) return [];
      // to_jsonb(c) reads `encoder` whether or not an older database has the column yet.
      const result = await pool.query<{
        name: string;
        dim: number;
        metric: Metric;
        encoder_id: string;
        encoder: EncoderSpec | null;
      }>(
        `SELECT name, dim, metric, encoder_id, to_jsonb(c) -> 'encoder' AS encoder FROM ${COLLECTIONS_TABLE} c ORDER BY name`,
      );
      return result.rows.map((row) => {
        const info: CollectionInfo = {
          name: row.name,
          dim: row.dim,
          metric: row.metric,
          encoderId: row.encoder_id,
        };
        if (row.encoder) info.encoder = row.encoder;
        return info;
      });
    });
  },

  async dropCollection(connectionString: string, name: string): Promise<boolean> {
    checkCollectionName(name);
    return withPool(connectionString, (pool) =>
      withTransaction(pool, async (client) => {
        const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
          COLLECTIONS_TABLE,
        ]);
        if (exists.rows[0].t === null) return false;
        const deleted = await client.query(`DELETE FROM ${COLLECTIONS_TABLE} WHERE name = $1`, [name]);
        await client.query(`DROP TABLE IF EXISTS ${itemsTable(name)}`);
        return (deleted.rowCount ?? 0) > 0;
      }),
    );
  },
};

async function withPool<T>(connectionString: string, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = newPool(connectionString, 1);
  try {
    return await work(pool);
  } catch (error) {
    throw asStoreError(error, 'postgres');
  } finally {
    await pool.end();
  }
}
