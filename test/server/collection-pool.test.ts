import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
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

describe('the server keeps at most limits.openCollections idle collections open', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ limits: { openCollections: 3 } });
  });
  after(() => server.close());

  const openFiles = () => readdirSync('/proc/self/fd').length;

  test('opening 40 collections one after another holds the handles of about 3, and each still answers', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `many-${i}`);
    const before = openFiles();
    for (const name of names) {
      const form = new FormData();
      form.append('file', new Blob([`a note about ${name}`]), `${name}.txt`);
      const indexed = await fetch(`${server.base}/collections/${name}/index`, { method: 'POST', body: form });
      assert.equal(indexed.status, 200, await indexed.text());
    }
    // An open embedded collection holds 4 handles: 40 kept open would hold 160 more.
    assert.ok(openFiles() - before <= 24, `file handles ${before} -> ${openFiles()}`);
    // Every one of them, reopened on demand (and closed again for the next), finds its note.
    for (const name of names) {
      const found = await server.call('POST', '/search', { collection: name, text: 'a note', k: 1 });
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.match(found.body.hits[0].id, new RegExp(`/${name}\\.txt#0$`));
    }
    assert.ok(openFiles() - before <= 24, `file handles ${before} -> ${openFiles()}`);
  });

  test('concurrent searches over more collections than the bound are all answered', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `many-${i}`);
    const answers = await Promise.all(
      names.flatMap((name) =>
        [1, 2, 3].map(() => server.call('POST', '/search', { collection: name, text: 'a note', k: 1 })),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 200),
      JSON.stringify(answers.find((a) => a.status !== 200)?.body),
    );
  });
});
