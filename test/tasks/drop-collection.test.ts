import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { XmodalError } from '../../src/errors.js';
import {
  dropCollection,
  listCollections as listLibraryCollections,
  openCollection as openLibraryCollection,
} from '../../src/library/collection.js';
import { listCollections } from '../../src/store/open.js';
import { collectionSummaries } from '../../src/tasks/collection-summaries.js';
import { ingest } from '../../src/tasks/ingest.js';
import { openCollection, storeLocation, type Workspace } from '../../src/tasks/workspace.js';
import { holdCollectionLock } from '../helpers/held-lock.js';
import { AUDIO, IMAGES, TINY_CLAP, TINY_CLIP, tempDir } from '../helpers/paths.js';
import { startServer } from '../server/harness.js';
import { startPgliteServer } from '../store/pglite-server.js';

/** A bundle whose two parts are declared separate spaces: its collections keep one sub-collection per part. */
function separateBundle(dir: string): string {
  const folder = join(dir, 'separate-tiny');
  mkdirSync(folder, { recursive: true });
  const manifest = { name: 'separate-tiny', space: 'separate', parts: [TINY_CLIP, TINY_CLAP] };
  writeFileSync(join(folder, 'xmodal.json'), JSON.stringify(manifest));
  return folder;
}

const names = async (workspace: Workspace) =>
  (await listCollections(storeLocation(workspace))).map((c) => c.name).sort();

async function create(workspace: Workspace, name: string, model: string) {
  await (await openCollection(workspace, name, { model, create: true })).close();
}

describe('dropping a collection of separate spaces drops every space', () => {
  const dir = tempDir('xmodal-drop-');
  const bundle = separateBundle(dir);
  let pg: Awaited<ReturnType<typeof startPgliteServer>>;
  before(async () => {
    pg = await startPgliteServer();
  });
  after(async () => {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const backends: [string, () => Workspace][] = [
    ['embedded', () => ({ home: join(dir, 'home') })],
    ['postgres (PGlite)', () => ({ home: join(dir, 'pg-home'), store: pg.url })],
  ];
  for (const [backend, workspace] of backends) {
    test(`${backend}: the library's dropCollection leaves no name__part behind, and no one else's collection`, async () => {
      const ws = workspace();
      await create(ws, 'mixed', bundle);
      // Named like a space but made on its own: not part of "mixed".
      await create(ws, 'mixed__old', TINY_CLIP);
      assert.deepEqual(await names(ws), ['mixed', 'mixed__old', 'mixed__tiny-clap']);
      assert.equal(await dropCollection('mixed', ws), true);
      assert.deepEqual(await names(ws), ['mixed__old']);
      assert.equal(await dropCollection('mixed', ws), false);
    });

    test(`${backend}: a collection of its own is never taken for a space, nor a space written as a collection`, async () => {
      const ws = workspace();
      const ours = async () => (await names(ws)).filter((n) => /^(sounds|tunes)/.test(n));
      // A user's own collection that happens to have the name a bundle's space would get.
      await create(ws, 'sounds__tiny-clap', TINY_CLAP);
      await assert.rejects(openCollection(ws, 'sounds', { model: bundle, create: true }), {
        code: 'CONFLICT',
        message:
          /collection "sounds__tiny-clap" exists, and a collection "sounds" on .+ needs that name for its space "tiny-clap"/,
      });
      assert.deepEqual(await ours(), ['sounds__tiny-clap'], 'nothing made, nothing adopted');
      // The other way round: a bundle's space cannot be opened as a collection of its own.
      await create(ws, 'tunes', bundle);
      await assert.rejects(openCollection(ws, 'tunes__tiny-clap', { model: TINY_CLAP, create: true }), {
        code: 'CONFLICT',
        message: /"tunes__tiny-clap" holds a vector space of collection "tunes"/,
      });
      assert.equal(await dropCollection('tunes', ws), true);
      assert.deepEqual(await ours(), ['sounds__tiny-clap'], 'the collection of its own survives the drop');
    });
  }

  test('DELETE /collections/:name drops every space', async () => {
    const server = await startServer({ model: bundle });
    try {
      assert.equal((await server.call('POST', '/collections', { name: 'mixed' })).status, 201);
      assert.deepEqual(await names({ home: server.home }), ['mixed', 'mixed__tiny-clap']);
      assert.equal((await server.call('DELETE', '/collections/mixed')).status, 200);
      assert.deepEqual(await names({ home: server.home }), []);
    } finally {
      await server.close();
    }
  });
});

describe('a collection of separate spaces is listed as one', () => {
  const dir = tempDir('xmodal-spaces-list-');
  const bundle = separateBundle(dir);
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('what `xmodal collections` counts, GET /collections and the library list it once, each item counted once', async () => {
    const note = join(dir, 'note.txt');
    writeFileSync(note, 'a note about the sea\n');
    const server = await startServer({ model: bundle });
    try {
      const ws = { home: server.home };
      const collection = await openCollection(ws, 'mixed', { model: bundle, create: true });
      try {
        const report = await ingest(collection, {
          paths: [join(IMAGES, 'photo.png'), join(AUDIO, 'sine.ogg'), note],
        });
        assert.equal(report.indexed, 3);
      } finally {
        await collection.close();
      }
      await create(ws, 'mixed__old', TINY_CLIP); // named like a space, but a collection of its own
      assert.deepEqual(await names(ws), ['mixed', 'mixed__old', 'mixed__tiny-clap']);
      const listed = (await listLibraryCollections(ws)).map((c) => c.name);
      assert.deepEqual(listed, ['mixed', 'mixed__old']);
      const served = await server.call('GET', '/collections');
      assert.deepEqual(
        served.body.collections.map((c: { name: string }) => c.name),
        ['mixed', 'mixed__old'],
      );
      const summaries = await collectionSummaries(ws);
      const mixed = summaries.find((c) => c.name === 'mixed');
      assert.deepEqual(
        { items: mixed?.items, modalities: mixed?.modalities },
        { items: 3, modalities: { text: 1, image: 1, audio: 1 } },
      );
      // The same counts as its stats.
      const stats = await server.call('GET', '/collections/mixed/stats');
      assert.deepEqual(
        { items: stats.body.items, modalities: stats.body.modalities },
        { items: 3, modalities: mixed?.modalities },
      );
      assert.deepEqual(
        summaries.map((c) => c.name),
        ['mixed', 'mixed__old'],
      );
    } finally {
      await server.close();
    }
  });
});

describe("the library's index and dropCollection take turns on a collection", () => {
  const home = tempDir('xmodal-drop-turns-');
  after(() => rmSync(home, { recursive: true, force: true }));

  test('bytes given to index while a drop waits are indexed before the drop, or refused after it, never lost', async () => {
    for (let round = 0; round < 4; round++) {
      const collection = await openLibraryCollection('turns', { home, model: TINY_CLIP, create: true });
      try {
        // Another run holds the collection until released; the index, then the drop, wait for it.
        const lock = await holdCollectionLock({ home }, 'turns');
        const bytes = new TextEncoder().encode(`a note in bytes, round ${round}`);
        const indexing = collection.index([{ name: 'note.txt', data: bytes }]).then(
          (report) => report,
          (error: unknown) => error,
        );
        await sleep(200);
        const dropping = dropCollection('turns', { home });
        // Released at a different point of the waiting runs' polling each round, so either may go first.
        await sleep(200 + round * 60);
        await lock.release();
        const [indexed, dropped] = await Promise.all([indexing, dropping]);
        assert.equal(dropped, true);
        if (indexed instanceof Error) {
          // The drop went first: this handle's collection is gone, and nothing was written for it.
          assert.ok(indexed instanceof XmodalError && indexed.code === 'NOT_FOUND', String(indexed));
        } else {
          const report = indexed as Awaited<ReturnType<typeof collection.index>>;
          assert.deepEqual(report.failed, [], 'the bytes were on disk when indexed');
          assert.equal(report.indexed, 1);
        }
        assert.equal(existsSync(join(home, 'uploads', 'turns')), false, 'no upload left behind');
      } finally {
        await collection.close();
      }
    }
  });
});
