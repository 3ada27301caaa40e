import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningServer, startServer } from './harness.js';

describe('the server opens each collection once, and never keeps a failed open', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const names = Array.from({ length: 12 }, (_, i) => `race-${i}`);
  const notes = (name: string) => {
    const form = new FormData();
    form.append('file', new Blob([`a note about ${name}`]), `${name}.txt`);
    return form;
  };

  test('a create and an index racing a lookup of a missing collection both succeed; later lookups find it', async () => {
    const results = await Promise.all(
      names.map(async (name) => {
        // The lookup starts first and fails (no such collection yet) while the others are in flight.
        const [lookup, created, indexed] = await Promise.all([
          server.call('GET', `/collections/${name}/stats`),
          server.call('POST', '/collections', { name }),
          fetch(`${server.base}/collections/${name}-indexed/index`, { method: 'POST', body: notes(name) }),
          server.call('GET', `/collections/${name}-indexed/stats`),
        ]);
        return {
          name,
          lookup: lookup.status,
          created: created.status,
          body: created.body,
          indexed: indexed.status,
        };
      }),
    );
    for (const r of results) {
      assert.ok([200, 404].includes(r.lookup), `${r.name}: lookup ${r.lookup}`);
      assert.equal(r.created, 201, `${r.name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.indexed, 200, r.name);
    }
    for (const name of names) {
      assert.equal((await server.call('GET', `/collections/${name}/stats`)).status, 200, name);
      const stats = await server.call('GET', `/collections/${name}-indexed/stats`);
      assert.equal(stats.status, 200, name);
      assert.equal(stats.body.items, 1);
    }
  });

  test('concurrent creates of one collection share one open: one store, no error', async () => {
    const created = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${server.base}/collections/shared/index`, { method: 'POST', body: notes('shared') }),
      ),
    );
    assert.deepEqual(
      created.map((r) => r.status),
      Array(8).fill(200),
    );
    const stats = await server.call('GET', '/collections/shared/stats');
    assert.equal(stats.status, 200);
    assert.equal(stats.body.items, 1);
  });
});
