// The Milvus backend: `milvus://host:19530` (plain gRPC) or `milvus+https://host:443?token=…` (TLS, managed Milvus).
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { xmodalError } from '../../errors.js';
import { shownLocation } from '../location.js';
import type { CollectionInfo, OpenStoreOptions, StoreBackend } from '../store.js';
import { checkCollectionName, resolveOpenOptions } from '../validate.js';
import { asStoreError, checkStatus, MilvusStore, milvusName, parseStamp } from './milvus-store.js';
import { MILVUS_URL } from './url.js';

/**
 * `milvus://[user:password@]host[:port][/database]` or `milvus+https://host[:port][/database]?token=…`.
 * A token (Zilliz Cloud API key, or `user:password`) may also come from `XMODAL_MILVUS_TOKEN`.
 */
export function milvusClient(location: string): MilvusClient {
  let url: URL;
  try {
    url = new URL(location.replace(MILVUS_URL, 'http://'));
  } catch {
    throw xmodalError('BAD_ARGUMENT', `not a Milvus URL: ${shownLocation(location)}`);
  }
  const ssl = /^milvus\+https:/i.test(location);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
  const token = url.searchParams.get('token') ?? process.env.XMODAL_MILVUS_TOKEN ?? undefined;
  return new MilvusClient({
    address: `${url.hostname}:${url.port || (ssl ? 443 : 19530)}`,
    ssl,
    token,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
    timeout: 60_000,
    logLevel: 'error',
  });
}

async function withClient<T>(location: string, work: (client: MilvusClient) => Promise<T>): Promise<T> {
  const client = milvusClient(location);
  try {
    return await work(client);
  } catch (error) {
    throw asStoreError(error, `milvus ${location.replace(/token=[^&]*/, 'token=…')}`);
  } finally {
    await client.closeConnection();
  }
}

export const milvusBackend: StoreBackend = {
  async open(location: string, options: OpenStoreOptions) {
    const resolved = resolveOpenOptions(options);
    const client = milvusClient(location);
    try {
      return await MilvusStore.open(client, resolved);
    } catch (error) {
      await client.closeConnection();
      throw asStoreError(error, `cannot open collection ${resolved.info.name}`);
    }
  },

  async listCollections(location: string): Promise<CollectionInfo[]> {
    return withClient(location, async (client) => {
      const shown = checkStatus(await client.showCollections(), 'showCollections');
      const infos: CollectionInfo[] = [];
      for (const { name } of shown.data) {
        if (!name.startsWith('xm_')) continue;
        const described = checkStatus(
          await client.describeCollection({ collection_name: name, cache: false }),
          'describeCollection',
        );
        const info = parseStamp(described);
        if (info && milvusName(info.name) === name) infos.push(info);
      }
      return infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  },

  async dropCollection(location: string, name: string): Promise<boolean> {
    checkCollectionName(name);
    return withClient(location, async (client) => {
      const collection = milvusName(name);
      const exists = checkStatus(
        await client.hasCollection({ collection_name: collection }),
        'hasCollection',
      );
      if (!exists.value) return false;
      checkStatus(await client.dropCollection({ collection_name: collection }), 'dropCollection');
      return true;
    });
  },
};
