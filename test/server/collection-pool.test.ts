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

  test('concurrent POST /collections of one new name: exactly one 201, the others 409 CONFLICT', async () => {
    for (const name of ['twice-a', 'twice-b', 'twice-c']) {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => server.call('POST', '/collections', { name })),
      );
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(
        statuses,
        [201, 409, 409, 409],
        `${name}: ${JSON.stringify(answers.map((a) => a.body))}`,
      );
      for (const a of answers.filter((a) => a.status === 409)) {
        assert.equal(a.body.error.code, 'CONFLICT');
        assert.match(a.body.error.message, new RegExp(`collection "${name}" already exists`));
      }
    }
  });

  test('POST /collections racing an index or a lookup of the same new name: it answers 201 or 409, never 500', async () => {
    for (const name of ['mixed-a', 'mixed-b', 'mixed-c']) {
      const [lookup, created, indexed] = await Promise.all([
        server.call('GET', `/collections/${name}/stats`),
        server.call('POST', '/collections', { name }),
        fetch(`${server.base}/collections/${name}/index`, { method: 'POST', body: notes(name) }),
      ]);
      assert.ok([200, 404].includes(lookup.status), `${name}: lookup ${lookup.status}`);
      assert.ok([201, 409].includes(created.status), `${name}: ${JSON.stringify(created.body)}`);
      assert.equal(indexed.status, 200, name);
      const again = await server.call('POST', '/collections', { name });
      assert.equal(again.status, 409, name);
      assert.equal((await server.call('GET', `/collections/${name}/stats`)).body.items, 1);
    }
  });
});
