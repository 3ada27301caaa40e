import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Encoder } from '../../src/encoders/encoder.js';
import { loadEncoder } from '../../src/encoders/load.js';
import { XmodalError } from '../../src/errors.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';
import { IMAGES, TINY_CLIP, TINY_SIGLIP, tempDir } from '../helpers/paths.js';

const png = readFileSync(join(IMAGES, 'photo.png'));
/** A revision that names a commit, which cannot move as a branch or tag can. */
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

describe('models from the hub (a local server speaking its file protocol)', () => {
  let hub: HubServer;
  const saved = process.env.HF_ENDPOINT;
  const caches: string[] = [];
  const cache = () => {
    caches.push(tempDir('xmodal-hub-cache-'));
    return caches.at(-1)!;
  };
  // tiny-clip without its image model: a repository that lacks a file the model needs.
  const withoutVisionTower = tempDir('xmodal-hub-repo-');
  before(async () => {
    cpSync(TINY_CLIP, withoutVisionTower, { recursive: true });
    rmSync(join(withoutVisionTower, 'onnx', 'vision_model.onnx'));
    hub = await startHubServer({
      'acme/tiny-clip': { main: TINY_CLIP, v1: TINY_SIGLIP, [COMMIT]: TINY_CLIP },
      'acme/no-vision': { main: withoutVisionTower },
    });
    process.env.HF_ENDPOINT = hub.url;
  });
  after(async () => {
    process.env.HF_ENDPOINT = saved;
    await hub.close();
    for (const dir of [...caches, withoutVisionTower]) rmSync(dir, { recursive: true, force: true });
  });

  async function use<T>(encoder: Encoder, work: (e: Encoder) => Promise<T>): Promise<T> {
    try {
      return await work(encoder);
    } finally {
      await encoder.dispose();
    }
  }

  test('the first load downloads every file with progress; the second uses the cache; then --offline works', async () => {
    const cacheDir = cache();
    const progress = new Map<string, { loaded: number; total: number }>();
    hub.requests.length = 0;
    const first = await use(
      await loadEncoder('acme/tiny-clip', { cacheDir, onProgress: (p) => progress.set(p.file, p) }),
      (e) => e.embedImages([png]),
    );
    const fetched = hub.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    for (const file of ['config.json', 'tokenizer.json', 'onnx/text_model.onnx', 'onnx/vision_model.onnx'])
      assert.ok(fetched.includes(`/acme/tiny-clip/resolve/main/${file}`), `${file} was downloaded`);
    const vision = progress.get('onnx/vision_model.onnx');
    assert.ok(vision && vision.total > 0 && vision.loaded === vision.total, JSON.stringify([...progress]));
    const local = await use(await loadEncoder(TINY_CLIP), (e) => e.embedImages([png]));
    assert.deepEqual(Array.from(first[0]), Array.from(local[0]), 'the downloaded model is the served one');

    hub.requests.length = 0;
    await use(await loadEncoder('acme/tiny-clip', { cacheDir }), (e) => e.embedText(['a dog']));
    assert.deepEqual(hub.requests, [], 'the second load asked the hub for nothing');

    process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
    try {
      const offline = await use(await loadEncoder('acme/tiny-clip', { cacheDir, offline: true }), (e) =>
        e.embedImages([png]),
      );
      assert.deepEqual(Array.from(offline[0]), Array.from(first[0]));
    } finally {
      process.env.HF_ENDPOINT = hub.url;
    }
  });

  test('offline with an empty cache is a clear OFFLINE error', async () => {
    await assert.rejects(loadEncoder('acme/tiny-clip', { cacheDir: cache(), offline: true }), (error) => {
      assert.ok(error instanceof XmodalError);
      assert.equal(error.code, 'OFFLINE');
      assert.match(error.message, /acme\/tiny-clip is not in the cache/);
      return true;
    });
  });

  test('a pinned revision (owner/name@revision) is the one downloaded and loaded, and kept apart in the cache', async () => {
    const cacheDir = cache();
    hub.requests.length = 0;
    const pinned = await use(await loadEncoder('acme/tiny-clip@v1', { cacheDir }), async (e) => ({
      id: e.id,
      vector: (await e.embedText(['a dog']))[0],
    }));
    assert.equal(pinned.id, 'acme/tiny-clip@v1', 'collections remember the revision');
    assert.ok(hub.requests.length > 0);
    assert.ok(hub.requests.every((r) => r.path.startsWith('/acme/tiny-clip/resolve/v1/')));
    const siglip = await use(await loadEncoder(TINY_SIGLIP), (e) => e.embedText(['a dog']));
    assert.deepEqual(Array.from(pinned.vector), Array.from(siglip[0]));
    const main = await use(await loadEncoder('acme/tiny-clip', { cacheDir }), (e) => e.embedText(['a dog']));
    assert.notEqual(
      main[0].length === pinned.vector.length && main[0].every((x, i) => x === pinned.vector[i]),
      true,
    );
  });

  test("a hub model's weights are its pinned commit; on a branch or tag they are not known", async () => {
    const cacheDir = cache();
    const weights = async (spec: string) =>
      use(await loadEncoder(spec, { cacheDir }), async (e) => e.spec.weights);
    assert.equal(await weights(`acme/tiny-clip@${COMMIT}`), COMMIT);
    assert.equal(await weights('acme/tiny-clip'), undefined);
    assert.equal(await weights('acme/tiny-clip@v1'), undefined);
  });

  test('a download cut half-way is resumed, and the cache holds the whole file', async () => {
    const cacheDir = cache();
    hub.cutOnce('acme/tiny-clip/main/onnx/vision_model.onnx');
    hub.requests.length = 0;
    const vectors = await use(await loadEncoder('acme/tiny-clip', { cacheDir }), (e) => e.embedImages([png]));
    const resumed = hub.requests.filter((r) => r.path.endsWith('/onnx/vision_model.onnx') && r.range);
    assert.equal(resumed.length, 1, JSON.stringify(hub.requests));
    const expected = readFileSync(join(TINY_CLIP, 'onnx', 'vision_model.onnx'));
    assert.equal(resumed[0].range, `bytes=${Math.floor(expected.length / 2)}-`);
    const cached = readFileSync(join(cacheDir, 'acme', 'tiny-clip', 'onnx', 'vision_model.onnx'));
    assert.ok(cached.equals(expected), 'the cached file is byte for byte the served one');
    const local = await use(await loadEncoder(TINY_CLIP), (e) => e.embedImages([png]));
    assert.deepEqual(Array.from(vectors[0]), Array.from(local[0]));
  });

  test('a missing repository, revision or file is an error that names it', async () => {
    const cases: [string, string, RegExp][] = [
      ['acme/nope', 'MODEL_NOT_FOUND', /acme\/nope.*resolve\/main\/config\.json/],
      ['acme/tiny-clip@v9', 'MODEL_NOT_FOUND', /acme\/tiny-clip@v9.*resolve\/v9\/config\.json/],
      [
        'acme/no-vision',
        'MODEL_INVALID',
        /acme\/no-vision.*image model.*resolve\/main\/onnx\/vision_model\.onnx/,
      ],
    ];
    for (const [spec, code, message] of cases) {
      await assert.rejects(loadEncoder(spec, { cacheDir: cache() }), (error) => {
        assert.ok(error instanceof XmodalError, String(error));
        assert.equal(error.code, code, error.message);
        assert.match(error.message, message);
        return true;
      });
    }
  });
});
