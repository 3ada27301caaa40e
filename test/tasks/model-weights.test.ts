// A model keeps its id (a shipped name, a folder) when its weights change: a new release of xmodal-mini, a model
// retrained into the same folder. Vectors of the old weights and the new ones must never meet in one collection.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { saveAdapter } from '../../src/encoders/adapter.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { listCollections, openStore } from '../../src/store/open.js';
import { DEMO_COLLECTION, openCurrentDemo } from '../../src/tasks/demo.js';
import { ingest } from '../../src/tasks/ingest.js';
import { openCollection, storeLocation } from '../../src/tasks/workspace.js';
import type { EncoderSpec } from '../../src/types.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { changeWeights, copyModel } from '../helpers/model-copy.js';
import { AUDIO, IMAGES, TINY_CLIP, tempDir } from '../helpers/paths.js';

const photo = join(IMAGES, 'photo.png');
const WEIGHTS = /^[0-9a-f]{16}$/;

describe('collections remember the weights of their model', { skip: MINI_MISSING }, () => {
  const folders: string[] = [];
  after(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });
  /** A home and a copy of xmodal-mini of its own, for a test to change. */
  const setup = () => {
    const [home, model] = [tempDir(), copyModel(MINI)];
    folders.push(home, model);
    return { home, model };
  };

  /** Indexes the photo into a new collection made with `model`; resolves to the spec it was stamped with. */
  async function indexPhoto(home: string, model: string, name: string): Promise<EncoderSpec> {
    const collection = await openCollection({ home }, name, { model, create: true });
    try {
      const report = await ingest(collection, { paths: [photo] });
      assert.equal(report.indexed, 1);
      return collection.info.encoder!;
    } finally {
      await collection.close();
    }
  }

  /**
   * What an older xmodal left: the photo indexed with `model` into a collection stamped with its spec less the
   * weights (the last release), or with no spec at all (`spec: false`, the one before). Resolves to that spec.
   */
  async function indexAsOlderRelease(home: string, model: string, name: string, spec = true) {
    const encoder = await loadEncoder(model);
    const [vector] = await encoder.embedImages([photo]);
    await encoder.dispose();
    const { weights, ...olderSpec } = encoder.spec;
    assert.match(weights ?? '', WEIGHTS);
    const store = await openStore(storeLocation({ home }), {
      collection: name,
      dim: vector.length,
      encoderId: model,
      encoder: spec ? olderSpec : undefined,
    });
    await store.upsert([{ id: photo, vector, modality: 'image', uri: photo }]);
    await store.close();
    return olderSpec;
  }

  test('a collection whose model got other weights in place refuses to open (ENCODER_MISMATCH), saying what to do', async () => {
    const { home, model } = setup();
    const stamped = await indexPhoto(home, model, 'photos');
    assert.match(stamped.weights ?? '', WEIGHTS);
    // The same weights open it again, and it has the photo.
    const again = await openCollection({ home }, 'photos');
    assert.equal(await again.store.count(), 1);
    await again.close();

    // A new release changes the audio tower only: the model's id is the same folder.
    changeWeights(join(model, 'clap'), 'audio_model');
    await assert.rejects(openCollection({ home }, 'photos'), {
      code: 'ENCODER_MISMATCH',
      message: new RegExp(
        `^collection "photos" was indexed with other weights of ${model} \\(${stamped.weights}, now [0-9a-f]{16}\\); re-index it into a new collection, or drop it \\(xmodal collections drop photos --yes\\)$`,
      ),
    });
    // Indexing into it is refused the same way (nothing is added next to the old vectors).
    await assert.rejects(openCollection({ home }, 'photos', { model, create: true }), {
      code: 'ENCODER_MISMATCH',
    });
    // A new collection takes the new weights.
    const fresh = await indexPhoto(home, model, 'photos-v2');
    assert.match(fresh.weights ?? '', WEIGHTS);
    assert.notEqual(fresh.weights, stamped.weights);
  });

  test('a collection open while its model gets other weights refuses to load a tower with them (ENCODER_MISMATCH)', async () => {
    const { home, model } = setup();
    await indexPhoto(home, model, 'served');
    // Open, as a running server keeps it: the image tower has loaded, the audio tower loads on first use.
    const collection = await openCollection({ home }, 'served');
    try {
      const [before] = await collection.encoder.embed('image', [readFileSync(photo)]);
      changeWeights(join(model, 'clap'), 'audio_model'); // an upgrade while it runs
      await assert.rejects(collection.encoder.embed('audio', [readFileSync(join(AUDIO, 'sine.ogg'))]), {
        code: 'ENCODER_MISMATCH',
        message:
          /its files changed after it was loaded \(weights [0-9a-f]{16}, now [0-9a-f]{16}\); its audio model would embed with other weights than its collection's: load the model again \(restart\)$/,
      });
      // A tower loaded before the change goes on with the weights it was loaded with.
      const [after] = await collection.encoder.embed('image', [readFileSync(photo)]);
      assert.deepEqual(Array.from(after), Array.from(before));
    } finally {
      await collection.close();
    }
  });

  test('a collection saved before weights were recorded still opens, and is not stamped with weights it was not made with', async () => {
    const { home, model } = setup();
    const olderSpec = await indexAsOlderRelease(home, model, 'older');
    await indexAsOlderRelease(home, model, 'oldest', false);
    changeWeights(join(model, 'clap'), 'audio_model');

    for (const name of ['older', 'oldest']) {
      const opened = await openCollection({ home }, name);
      try {
        assert.equal(await opened.store.count(), 1, name);
        assert.match(opened.encoder.spec.weights ?? '', WEIGHTS);
        assert.deepEqual(opened.info.encoder, olderSpec, name);
      } finally {
        await opened.close();
      }
    }
    for (const info of await listCollections(storeLocation({ home })))
      assert.equal(info.encoder?.weights, undefined, `${info.name} claims no weights`);
  });

  test("the demo collection is made again when its model's weights change, and kept while they do not", async () => {
    const { home, model } = setup();
    const made = await indexPhoto(home, model, DEMO_COLLECTION);

    const kept = await openCurrentDemo({ home }, model);
    assert.equal(await kept.store.count(), 1, 'same weights: the demo is kept');
    await kept.close();

    changeWeights(join(model, 'clap'), 'audio_model');
    const rebuilt = await openCurrentDemo({ home }, model);
    try {
      assert.equal(await rebuilt.store.count(), 0, 'other weights: the old vectors are gone');
      assert.match(rebuilt.info.encoder?.weights ?? '', WEIGHTS);
      assert.notEqual(rebuilt.info.encoder?.weights, made.weights);
      assert.equal(rebuilt.info.encoder?.weights, rebuilt.encoder.spec.weights);
    } finally {
      await rebuilt.close();
    }
  });

  test('a demo collection indexed before weights were recorded is made again', async () => {
    const { home, model } = setup();
    await indexAsOlderRelease(home, model, DEMO_COLLECTION);
    const demo = await openCurrentDemo({ home }, model);
    try {
      assert.equal(await demo.store.count(), 0);
      assert.match(demo.info.encoder?.weights ?? '', WEIGHTS);
    } finally {
      await demo.close();
    }
  });
});

test('an adapter retrained into the same folder has other weights: its own file counts beside its base', async () => {
  const folder = tempDir('xmodal-adapter-');
  after(() => rmSync(folder, { recursive: true, force: true }));
  const matrix = (seed: number) =>
    Float32Array.from({ length: 32 * 32 }, (_, i) => 0.02 * Math.sin(seed + i));
  const weightsOf = async (model: string) => {
    const encoder = await loadEncoder(model);
    await encoder.dispose();
    return encoder.spec.weights;
  };
  /** Trains (here: writes) the adapter into `folder` again, as `xmodal adapt` would; resolves to its weights. */
  const train = (seed: number) => {
    const matrices = { text: matrix(seed), image: matrix(seed + 1) };
    saveAdapter(folder, { model: TINY_CLIP, dim: 32, matrices, logitScale: 30 });
    return weightsOf(folder);
  };
  const first = await train(1);
  const retrained = await train(3);
  const base = await weightsOf(TINY_CLIP);
  for (const weights of [first, retrained, base]) assert.match(weights ?? '', WEIGHTS);
  assert.equal(new Set([first, retrained, base]).size, 3, `${first} ${retrained} ${base}`);
});
