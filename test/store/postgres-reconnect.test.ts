// The pgvector store on a real PostgreSQL server: connections the server drops (restart, failover, an admin's
// pg_terminate_backend) must not crash the process; the next call reconnects.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { type PostgresServer, startPostgres } from '../servers/postgres.js';
import { serversVenv, warnSkipped } from '../servers/python-venv.js';

const venv = await serversVenv('postgres');
const unavailable =
  'unavailable' in venv ? warnSkipped('pgvector reconnect test', venv.unavailable) : undefined;

describe('pgvector store on a real PostgreSQL server', { skip: unavailable }, () => {
  let server: PostgresServer;
  let store: Store;
  before(async () => {
    server = await startPostgres((venv as { venv: string }).venv);
    store = await openStore(server.url, { collection: 'reconnect', dim: 3, encoderId: 'e' });
  });
  after(async () => {
    await store?.close();
    await server?.stop();
  });

  it('keeps working after the server terminates its idle connections', async () => {
    await store.upsert([{ id: 'a', vector: new Float32Array([1, 0, 0]), modality: 'text' }]);
    assert.equal(await store.count(), 1);
    const admin = new pg.Client(server.url);
    await admin.connect();
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    await admin.end();
    assert.ok(killed.rowCount && killed.rowCount > 0, 'the store had an idle connection to drop');
    // Give the dropped connection's error time to arrive, as it would between two requests.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await store.count(), 1);
    assert.equal((await store.search(new Float32Array([1, 0, 0]), { k: 1 }))[0].id, 'a');
  });
});
