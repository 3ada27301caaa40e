// Picks the backend from the location: postgres:// means pgvector, milvus:// Milvus, anything else an embedded directory.
import type { EmbeddedOptions } from './embedded/sqlite-hnsw-store.js';
import { POSTGRES_URL } from './location.js';
import { MILVUS_URL } from './milvus/url.js';
import type { CollectionInfo, OpenStoreOptions, Store, StoreBackend } from './store.js';

export { isSharedLocation, shownLocation } from './location.js';

/**
 * Opens one collection. `location` is either
 * - a directory (created if missing), e.g. `~/.xmodal/store`: the embedded SQLite + HNSW store; or
 * - a PostgreSQL connection string, e.g. `postgres://user:pass@host:5432/db` (also `postgresql://`, with any
 *   libpq-style parameters such as `?sslmode=require`): the pgvector backend. The server needs the `vector`
 *   extension (`CREATE EXTENSION vector`, done on first open when the role may). This is what the CLI's
 *   `--store postgres://user:pass@host/db` option passes through; or
 * - a Milvus URL, `milvus://host:19530` or `milvus+https://host?token=…` (managed Milvus / Zilliz Cloud): one
 *   Milvus collection per xmodal collection.
 */
export async function openStore(
  location: string,
  options: OpenStoreOptions & EmbeddedOptions,
): Promise<Store> {
  return (await backendFor(location)).open(location, options);
}

/** Every collection at the location with its stamp (dim, metric, encoder id). */
export async function listCollections(location: string): Promise<CollectionInfo[]> {
  return (await backendFor(location)).listCollections(location);
}

/** Removes a collection and everything in it; resolves to false when there was none. */
export async function dropCollection(location: string, name: string): Promise<boolean> {
  return (await backendFor(location)).dropCollection(location, name);
}

// Imported lazily so the embedded path never loads `pg`, and the postgres path never loads native addons.
async function backendFor(location: string): Promise<StoreBackend> {
  if (POSTGRES_URL.test(location)) return (await import('./postgres/backend.js')).postgresBackend;
  if (MILVUS_URL.test(location)) return (await import('./milvus/backend.js')).milvusBackend;
  return (await import('./embedded/backend.js')).embeddedBackend;
}
