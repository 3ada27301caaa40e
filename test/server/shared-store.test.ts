// Two `xmodal serve` processes over one shared store (a real Milvus Lite server, or PostgreSQL + pgvector when
// Milvus Lite cannot be installed): what one writes, the other reads at once.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { IMAGES, TINY_CLIP, tempDir } from '../helpers/paths.js';
import type { ChildServer } from '../servers/child-server.js';
import { startMilvusLite } from '../servers/milvus-lite.js';
import { serversVenv, warnSkipped } from '../servers/python-venv.js';
import { startSharedStore } from '../servers/shared-store.js';

interface Served {
  server: ChildServer;
  base: string;
}

async function serve(store: string, home: string): Promise<Served> {
  const server = await startCli(
    ['--home', home, '--store', store, 'serve', '--port', '0', '--model', TINY_CLIP],
    /serving .* on (http:\/\/127\.0\.0\.1:\d+)/,
    { XMODAL_API_KEY: '' },
  );
  return { server, base: server.ready[1] };
}

async function upload(server: Served, collection: string, name: string, bytes: Blob) {
  const form = new FormData();
  form.append('file', bytes, name);
  const response = await fetch(`${server.base}/collections/${collection}/index`, {
    method: 'POST',
    body: form,
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

async function search(server: Served, collection: string) {
  const response = await fetch(`${server.base}/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ collection, text: 'a photo', k: 10 }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { hits: { id: string }[] }).hits.map((h) => h.id).sort();
}

describe('two xmodal serve instances on one shared store', () => {
  let store: { url: string; stop(): Promise<void> };
  const homes = [tempDir('xmodal-serve-a-'), tempDir('xmodal-serve-b-')];
  const servers: Served[] = [];

  before(async () => {
    const milvus = await serversVenv('milvus');
    if ('venv' in milvus) store = await startMilvusLite(milvus.venv);
    else {
      warnSkipped('Milvus Lite for the side-by-side servers (PostgreSQL serves instead)', milvus.unavailable);
      store = await startSharedStore();
    }
    servers.push(...(await Promise.all(homes.map((home) => serve(store.url, home)))));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.server.stop()));
    await store?.stop();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('an item written through one server is found through the other, and back', async () => {
    const [a, b] = servers;
    await upload(a, 'shared', 'photo.png', new Blob([readFileSync(join(IMAGES, 'photo.png'))]));
    const listed = (await (await fetch(`${b.base}/collections`)).json()) as {
      collections: { name: string }[];
    };
    assert.ok(
      listed.collections.some((c) => c.name === 'shared'),
      'the other server lists the new collection',
    );
    const stats = (await (await fetch(`${b.base}/collections/shared/stats`)).json()) as { items: number };
    assert.equal(stats.items, 1);
    const first = await search(b, 'shared');
    assert.equal(first.length, 1);
    assert.deepEqual(await search(a, 'shared'), first);

    // Both now hold the collection open: a write through B shows through A at once.
    await upload(b, 'shared', 'photo.jpg', new Blob([readFileSync(join(IMAGES, 'photo.jpg'))]));
    const both = await search(a, 'shared');
    assert.equal(both.length, 2);
    assert.deepEqual(await search(b, 'shared'), both);
    const item = await fetch(
      `${a.base}/items/${encodeURIComponent(both.find((id) => !first.includes(id)) as string)}?collection=shared`,
    );
    assert.equal(item.status, 200);
  });
});
