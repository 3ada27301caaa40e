// The `xmodal` entry point as a library user meets it: the same results the CLI prints with --json, progress
// and cancellation, bytes and streams, any store URL, typed errors, and nothing written to the console.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  audit,
  bind,
  type Collection,
  classify,
  dropCollection,
  embed,
  type IndexProgress,
  listCollections,
  listModels,
  moderate,
  openCollection,
  similarity,
  XmodalError,
} from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { IMAGES, ROOT, TINY_BUNDLE, TINY_CLIP, tempDir } from '../helpers/paths.js';
import { startServer } from '../server/harness.js';
import { startPgliteServer } from '../store/pglite-server.js';

const PICTURES = ['photo.png', 'photo.jpg', 'photo.gif', 'photo.webp'];

/** A folder of four pictures and a note, as a user would index. */
function makeFolder(root: string): string {
  const folder = join(root, 'media');
  mkdirSync(folder, { recursive: true });
  for (const name of PICTURES) copyFileSync(join(IMAGES, name), join(folder, name));
  writeFileSync(join(folder, 'note.txt'), 'a note about dogs\n\nand one about cats');
  return folder;
}

/** The CLI's --json output, parsed; the command must succeed. */
async function cliJson(args: string[]): Promise<unknown> {
  const result = await runCli([...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

describe('collections through the library equal the CLI', () => {
  let root: string;
  let folder: string;
  let collection: Collection;
  before(async () => {
    root = tempDir('xmodal-library-');
    folder = makeFolder(root);
    collection = await openCollection('pics', { home: join(root, 'lib-home'), model: TINY_CLIP });
  });
  after(async () => {
    await collection.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('index reports what `xmodal index --json` reports, with progress as files are written', async () => {
    const progress: IndexProgress[] = [];
    const report = await collection.index([folder], { tags: ['mine'], onProgress: (p) => progress.push(p) });
    const cli = (await cliJson([
      '--home',
      join(root, 'cli-home'),
      'index',
      folder,
      '-c',
      'pics',
      '--model',
      TINY_CLIP,
      '--tag',
      'mine',
    ])) as typeof report;
    assert.deepEqual({ ...report, seconds: 0 }, { ...cli, seconds: 0 });
    assert.equal(report.indexed, 5);
    const done = progress.map((p) => p.done);
    assert.deepEqual(
      done,
      [...done].sort((a, b) => a - b),
    );
    assert.deepEqual(progress.at(-1), { total: 5, done: 5, indexed: 5, unchanged: 0, failed: 0 });
  });

  test('search takes the CLI query parts and filters and returns its results', async () => {
    const cliHome = join(root, 'cli-home');
    const cases: { args: string[]; request: Parameters<Collection['search']>[0] }[] = [
      { args: ['a dog', '-k', '3'], request: { text: 'a dog', k: 3 } },
      {
        args: ['--image', `${join(folder, 'photo.png')}@0.5`, '--not', 'cats', '--modality', 'image'],
        request: { image: { value: join(folder, 'photo.png'), weight: 0.5 }, not: 'cats', modality: 'image' },
      },
      {
        args: [
          '--like',
          join(folder, 'photo.jpg'),
          '--tag',
          'mine',
          '--path-prefix',
          folder,
          '--min-score',
          '0',
        ],
        request: { like: join(folder, 'photo.jpg'), tags: ['mine'], pathPrefix: folder, minScore: 0 },
      },
    ];
    for (const { args, request } of cases) {
      const cli = await cliJson(['--home', cliHome, 'search', ...args, '-c', 'pics']);
      assert.deepEqual(await collection.search(request), cli, args.join(' '));
    }
  });

  test('get and delete items by id', async () => {
    const id = join(folder, 'photo.gif');
    const item = await collection.get(id, { vector: true });
    assert.equal(item?.modality, 'image');
    assert.equal(item?.vector?.length, 32);
    assert.deepEqual(item?.tags, ['mine']);
    assert.equal(await collection.delete(id), 1);
    assert.equal(await collection.get(id), undefined);
    assert.equal(await collection.delete([id]), 0);
    assert.equal((await collection.stats()).items, 4);
  });

  test('quality equals `xmodal quality --json`', async () => {
    const cliHome = join(root, 'cli-home');
    const cli = await cliJson(['--home', cliHome, 'quality', '-c', 'pics', '-k', '2']);
    // The library collection lost one picture above: measure a fresh copy of the CLI's instead.
    const twin = await openCollection('pics', { home: cliHome, create: false });
    try {
      assert.deepEqual(await twin.quality({ k: 2 }), cli);
    } finally {
      await twin.close();
    }
  });
});

describe('indexing bytes and streams, progress and cancellation', () => {
  let root: string;
  before(() => {
    root = tempDir('xmodal-library-');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a buffer, a Node stream and a web stream are indexed once each; the same bytes again are unchanged', async () => {
    const collection = await openCollection('uploads', { home: root, model: TINY_CLIP });
    try {
      const png = readFileSync(join(IMAGES, 'photo.png'));
      const jpg = readFileSync(join(IMAGES, 'photo.jpg'));
      const webp = readFileSync(join(IMAGES, 'photo.webp'));
      const report = await collection.index([
        { name: 'a/photo.png', data: new Uint8Array(png) },
        { name: 'photo.jpg', data: Readable.from([jpg.subarray(0, 100), jpg.subarray(100)]) },
        { name: 'b/photo.png', data: new Blob([new Uint8Array(webp)]).stream() },
      ]);
      assert.equal(report.indexed, 3, JSON.stringify(report.failed));
      const { results } = await collection.search({ image: new Uint8Array(jpg), k: 1 });
      assert.deepEqual(readFileSync(results[0].uri!), jpg);
      const again = await collection.index([{ name: 'a/photo.png', data: new Uint8Array(png) }]);
      assert.equal(again.unchanged, 1);
      assert.equal((await collection.stats()).items, 3);
    } finally {
      await collection.close();
    }
  });

  test('a file uploaded to the server and the same file given to the library are one item, kept once', async () => {
    const server = await startServer();
    try {
      const png = readFileSync(join(IMAGES, 'photo.png'));
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(png)]), 'holiday.png');
      const posted = await fetch(`${server.base}/collections/shared/index`, { method: 'POST', body: form });
      assert.equal(posted.status, 200, await posted.clone().text());
      const collection = await openCollection('shared', { home: server.home, model: TINY_CLIP });
      try {
        const report = await collection.index([{ name: 'holiday.png', data: new Uint8Array(png) }]);
        assert.equal(report.unchanged, 1, JSON.stringify(report));
        assert.equal(await collection.count(), 1);
      } finally {
        await collection.close();
      }
      assert.deepEqual(readdirSync(join(server.home, 'uploads', 'shared')), ['holiday.png']);
    } finally {
      await server.close();
    }
  });

  test('an aborted run stops between files, keeps what it wrote, and a rerun finishes the rest', async () => {
    const folder = makeFolder(join(root, 'abort'));
    const collection = await openCollection('abort', { home: root, model: TINY_CLIP });
    try {
      const controller = new AbortController();
      await assert.rejects(
        collection.index([folder], {
          onProgress: (p) => {
            if (p.done >= 1) controller.abort();
          },
          signal: controller.signal,
        }),
        { name: 'AbortError' },
      );
      const kept = await collection.count();
      assert.ok(kept < 5, `${kept} items after the abort`);
      const rerun = await collection.index([folder]);
      assert.equal(rerun.indexed + rerun.unchanged, 5);
      assert.equal(await collection.count(), 5); // four pictures and the note, once each
    } finally {
      await collection.close();
    }
  });

  test('two runs on one collection take turns: the second waits for the first, then finds its files unchanged', async () => {
    const folder = makeFolder(join(root, 'turns'));
    const [first, second] = [
      await openCollection('turns', { home: root, model: TINY_CLIP }),
      await openCollection('turns', { home: root, model: TINY_CLIP }),
    ];
    try {
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const waits: number[] = [];
      const one = first.index([folder], { onProgress: () => started() });
      await running;
      const two = second.index([folder], { onWait: (holder) => waits.push(holder) });
      const [a, b] = await Promise.all([one, two]);
      assert.deepEqual(waits, [process.pid], 'the second run is told who holds the collection, once');
      assert.equal(a.indexed, 5);
      assert.deepEqual([b.indexed, b.unchanged], [0, 5]);
      assert.equal(await second.count(), 5);
    } finally {
      await first.close();
      await second.close();
    }
  });

  test('an already aborted signal indexes nothing', async () => {
    const collection = await openCollection('never', { home: root, model: TINY_CLIP });
    try {
      await assert.rejects(collection.index([IMAGES], { signal: AbortSignal.abort() }), {
        name: 'AbortError',
      });
      assert.equal(await collection.count(), 0);
    } finally {
      await collection.close();
    }
  });
});

describe('model-level calls equal the CLI', () => {
  const png = join(IMAGES, 'photo.png');

  test('embed, similarity, classify and moderate return what the CLI prints', async () => {
    const model = { model: TINY_CLIP };
    assert.deepEqual(
      await embed(['a dog', { image: png }], model),
      await cliJson(['embed', '--text', 'a dog', '--image', png, '--model', TINY_CLIP]),
    );
    assert.deepEqual(
      await similarity('a dog', png, model),
      await cliJson(['similarity', 'a dog', png, '--model', TINY_CLIP]),
    );
    assert.deepEqual(
      await classify(png, { ...model, labels: ['dog', 'cat', 'car'], k: 2 }),
      await cliJson(['classify', png, '--labels', 'dog,cat,car', '-k', '2', '--model', TINY_CLIP]),
    );
    assert.deepEqual(await moderate(png, model), await cliJson(['moderate', png, '--model', TINY_CLIP]));
    assert.deepEqual(listModels(), await cliJson(['models']));
  });

  test('audit on an own probe set equals `xmodal audit --json`', async () => {
    const dir = tempDir('xmodal-library-');
    try {
      const probe = join(dir, 'probe.jsonl');
      const rows = [
        ['a woman who cooks', 'woman', 'cook'],
        ['a man who cooks', 'man', 'cook'],
        ['a woman flying a plane', 'woman', 'pilot'],
        ['a man flying a plane', 'man', 'pilot'],
      ].map(([text, gender, concept]) => JSON.stringify({ text, group: { gender }, concept }));
      writeFileSync(probe, `${rows.join('\n')}\n`);
      const args = ['--probe', probe, '-k', '2', '--permutations', '20', '--model', TINY_CLIP];
      const result = await audit({ model: TINY_CLIP, probe, k: 2, permutations: 20 });
      assert.equal(result.probes, 4);
      assert.deepEqual(result, await cliJson(['audit', ...args]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bind equals `xmodal bind --json`, from text files or from the texts themselves', async () => {
    const dir = tempDir('xmodal-library-');
    try {
      const words = [
        'dog',
        'cat',
        'car',
        'piano',
        'violin',
        'apple',
        'train',
        'rain',
        'bell',
        'drum',
        'bird',
        'sea',
      ];
      const texts = words.flatMap((t) => [t, `a photo of ${t}`, `the sound of ${t}`, `a drawing of ${t}`]);
      const file = join(dir, 'texts.txt');
      writeFileSync(file, `${texts.join('\n')}\n`);
      const parts = { model: TINY_BUNDLE, from: 'tiny-clap', to: 'tiny-clip', epochs: 2, heldout: 0.25 };
      const printed = (await cliJson([
        'bind',
        ...['--model', TINY_BUNDLE, '--from', 'tiny-clap', '--to', 'tiny-clip', '--texts', file],
        ...['--out', join(dir, 'cli'), '--epochs', '2', '--heldout', '0.25'],
      ])) as Record<string, unknown>;
      const fromFile = await bind({ ...parts, texts: { files: [file] }, out: join(dir, 'file') });
      const fromTexts = await bind({ ...parts, texts, out: join(dir, 'texts') });
      const comparable = (report: object) => {
        const { seconds, bundle, ...rest } = report as Record<string, unknown>;
        assert.equal(typeof seconds, 'number');
        assert.equal(typeof bundle, 'string');
        return rest;
      };
      assert.deepEqual(comparable(fromFile), comparable(printed));
      assert.deepEqual(comparable(fromTexts), comparable(printed));
      const { train, validation, heldout } = fromFile.texts;
      assert.deepEqual([train + validation + heldout, heldout], [48, 12]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bytes work wherever a path does, and a loaded model is reused without being closed', async () => {
    const { loadModel } = await import('../../src/index.js');
    const encoder = await loadModel({ model: TINY_CLIP });
    try {
      const fromPath = await embed([{ image: png }], { model: encoder });
      const fromBytes = await embed([{ image: new Uint8Array(readFileSync(png)) }], { model: encoder });
      assert.deepEqual(fromBytes.embeddings[0].embedding, fromPath.embeddings[0].embedding);
      assert.equal(fromBytes.embeddings[0].input, `<${readFileSync(png).byteLength} bytes>`);
      const labels = await classify({ image: readFileSync(png) }, { model: encoder, labels: ['a', 'b'] });
      assert.equal(labels.labels.length, 2);
    } finally {
      await encoder.dispose();
    }
  });
});

describe('stores, errors and silence', () => {
  test('a collection on a postgres:// store indexes and searches like the embedded one', async () => {
    const pg = await startPgliteServer();
    const home = tempDir('xmodal-library-');
    try {
      const collection = await openCollection('pg', { store: pg.url, home, model: TINY_CLIP });
      try {
        const report = await collection.index([join(IMAGES, 'photo.png'), join(IMAGES, 'photo.jpg')]);
        assert.equal(report.indexed, 2);
        const { results } = await collection.search({ image: join(IMAGES, 'photo.jpg'), k: 1 });
        assert.equal(results[0].id, join(IMAGES, 'photo.jpg'));
      } finally {
        await collection.close();
      }
      assert.deepEqual(
        (await listCollections({ store: pg.url })).map((c) => c.name),
        ['pg'],
      );
      assert.equal(await dropCollection('pg', { store: pg.url, home }), true);
      assert.deepEqual(await listCollections({ store: pg.url }), []);
    } finally {
      await pg.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('mistakes are XmodalErrors with the codes of the error table', async () => {
    const home = tempDir('xmodal-library-');
    try {
      await assert.rejects(openCollection('missing', { home, create: false }), (error: unknown) => {
        assert.ok(error instanceof XmodalError);
        assert.equal(error.code, 'NOT_FOUND');
        return true;
      });
      const collection = await openCollection('c', { home, model: TINY_CLIP });
      try {
        await assert.rejects(collection.search({ k: 3 }), { code: 'BAD_ARGUMENT' });
        await assert.rejects(collection.search({ text: 'x', k: 0 }), { code: 'BAD_ARGUMENT' });
        await assert.rejects(collection.search({ like: 'no-such-id' }), { code: 'NOT_FOUND' });
      } finally {
        await collection.close();
      }
      await assert.rejects(classify('a dog', { model: TINY_CLIP, labels: ['one'] }), {
        code: 'BAD_ARGUMENT',
      });
      await assert.rejects(embed([{ image: join(home, 'nope.png') }], { model: TINY_CLIP }), {
        code: 'FILE_NOT_FOUND',
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('nothing is written to the console, even when files fail', async () => {
    const home = tempDir('xmodal-library-');
    try {
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'test', 'library', 'quiet-run.ts'), home],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      );
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr, '');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
