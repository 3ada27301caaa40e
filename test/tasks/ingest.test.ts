import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ingest } from '../../src/tasks/ingest.js';
import { searchCollection } from '../../src/tasks/search.js';
import { openCollection } from '../../src/tasks/workspace.js';
import { AUDIO, IMAGES, TINY_BUNDLE, tempDir } from '../helpers/paths.js';

const NOTES =
  'Dogs are loyal animals that love long walks.\n\nThe sea at sunset turns orange and calm.\n\nA piano has eighty-eight keys.\n';

/** A fresh home and data folder with every kind of file, and a collection to index them into. */
async function setUp() {
  const home = tempDir();
  const data = tempDir('xmodal-data-');
  copyFileSync(join(IMAGES, 'photo.png'), join(data, 'photo.png'));
  copyFileSync(join(IMAGES, 'exif-orientation-6.jpg'), join(data, 'rotated.jpg'));
  copyFileSync(join(IMAGES, 'corrupt.jpg'), join(data, 'corrupt.jpg'));
  copyFileSync(join(AUDIO, 'sine-s16.wav'), join(data, 'tone.wav'));
  // Named like text but holding audio: modality comes from the content.
  copyFileSync(join(AUDIO, 'long-25s-16k.wav'), join(data, 'sweep.txt'));
  writeFileSync(join(data, 'notes.md'), NOTES);
  writeFileSync(join(data, 'empty.txt'), '');
  const collection = await openCollection({ home }, 'default', { model: TINY_BUNDLE, create: true });
  return {
    home,
    data,
    collection,
    async tearDown() {
      await collection.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Each test indexes its own copy of the files: none depends on another having run first. */
describe('ingest and search on real files', () => {
  let fixture: Awaited<ReturnType<typeof setUp>>;
  beforeEach(async () => {
    fixture = await setUp();
  });
  afterEach(() => fixture.tearDown());

  test('indexes images, audio and text chunks; reports bad files and keeps the rest', async () => {
    const { collection, data } = fixture;
    const report = await ingest(collection, { paths: [data] });
    assert.equal(report.files, 7);
    assert.equal(report.indexed, 5);
    assert.deepEqual(report.failed.map((f) => f.path.split('/').pop()).sort(), ['corrupt.jpg', 'empty.txt']);
    assert.ok(report.failed.every((f) => f.reason.length > 0 && !f.reason.includes('\n')));
    assert.equal(report.items, 2 + 2 + 3, 'two images, two clips, three paragraphs');
    const sweep = await collection.store.get(join(data, 'sweep.txt'));
    assert.equal(sweep?.modality, 'audio');
    assert.equal(
      (await collection.store.get(`${join(data, 'notes.md')}#2`))?.meta?.text,
      'A piano has eighty-eight keys.',
    );
  });

  test('files counts every file the run reports on: those it could not read while listing too', async () => {
    const { collection, data } = fixture;
    execFileSync('mkfifo', [join(data, 'pipe.png')]);
    const report = await ingest(collection, { paths: [data, join(data, 'missing.png')] });
    assert.deepEqual(report.failed.map((f) => f.path.split('/').pop()).sort(), [
      'corrupt.jpg',
      'empty.txt',
      'missing.png',
      'pipe.png',
    ]);
    assert.equal(report.files, 9);
    assert.equal(report.files, report.indexed + report.unchanged + report.failed.length);
  });

  test('each query modality finds its own item first', async () => {
    const { collection, data } = fixture;
    await ingest(collection, { paths: [data] });
    const byImage = await searchCollection(collection, {
      parts: [{ kind: 'image', value: join(IMAGES, 'photo.png') }],
      k: 3,
    });
    assert.equal(byImage[0].id, join(data, 'photo.png'));
    assert.ok(byImage[0].score > 0.9999);
    const byAudio = await searchCollection(collection, {
      parts: [{ kind: 'audio', value: join(AUDIO, 'sine.flac') }],
      k: 1,
    });
    assert.equal(byAudio[0].id, join(data, 'tone.wav'));
    const byText = await searchCollection(collection, {
      parts: [{ kind: 'text', value: 'The sea at sunset turns orange and calm.' }],
      k: 1,
      filter: { modality: 'text' },
    });
    assert.equal(byText[0].id, `${join(data, 'notes.md')}#1`);
    const like = await searchCollection(collection, {
      parts: [{ kind: 'like', value: join(data, 'photo.png') }],
      k: 10,
    });
    assert.ok(!like.some((h) => h.id === join(data, 'photo.png')), 'the example itself is left out');
    assert.equal(like.length, 6);
    const onlyAudio = await searchCollection(collection, {
      parts: [{ kind: 'text', value: 'x' }],
      k: 10,
      filter: { modality: 'audio' },
    });
    assert.deepEqual(
      onlyAudio.map((h) => h.modality),
      ['audio', 'audio'],
    );
  });

  test('re-indexing unchanged files is a no-op', async () => {
    const { collection, data, home } = fixture;
    await ingest(collection, { paths: [data] });
    const before = statSync(join(home, 'collections', 'default', 'items.sqlite')).mtimeMs;
    const report = await ingest(collection, { paths: [data] });
    assert.equal(report.indexed, 0);
    assert.equal(report.unchanged, 5);
    assert.equal(report.items, 7);
    assert.equal(statSync(join(home, 'collections', 'default', 'items.sqlite')).mtimeMs, before);
  });

  test('a modified file is re-embedded and its old chunks removed', async () => {
    const { collection, data } = fixture;
    await ingest(collection, { paths: [data] });
    writeFileSync(join(data, 'notes.md'), 'Cats sleep most of the day.\n\nOnly two paragraphs now.\n');
    const report = await ingest(collection, { paths: [data] });
    assert.equal(report.indexed, 1);
    assert.equal(report.items, 6);
    assert.equal(await collection.store.get(`${join(data, 'notes.md')}#2`), undefined);
    assert.equal(
      (await collection.store.get(`${join(data, 'notes.md')}#0`))?.meta?.text,
      'Cats sleep most of the day.',
    );
  });

  test('a text missing some of its chunks (a run killed among its slices) is written again, whole', async () => {
    const { collection, data } = fixture;
    const notes = join(data, 'notes.md');
    await ingest(collection, { paths: [notes] });
    await collection.store.delete([`${notes}#2`]);
    const report = await ingest(collection, { paths: [notes] });
    assert.equal(report.indexed, 1);
    assert.equal(report.items, 3);
    assert.equal((await collection.store.get(`${notes}#2`))?.meta?.text, 'A piano has eighty-eight keys.');
  });

  test('a text of more chunks than one write takes is indexed whole, and is unchanged the next time', async () => {
    const { collection, data } = fixture;
    const long = join(data, 'long.txt');
    const paragraphs = Array.from({ length: 700 }, (_, i) => `Paragraph number ${i} says something.`);
    writeFileSync(long, paragraphs.join('\n\n'));
    assert.equal((await ingest(collection, { paths: [long] })).items, 700);
    assert.equal((await collection.store.get(`${long}#699`))?.meta?.text, paragraphs[699]);
    const again = await ingest(collection, { paths: [long] });
    assert.deepEqual([again.indexed, again.unchanged, again.items], [0, 1, 700]);
  });

  test('--prune removes items whose files are gone, and only with --prune', async () => {
    const { collection, data } = fixture;
    await ingest(collection, { paths: [data] });
    rmSync(join(data, 'tone.wav'));
    assert.equal((await ingest(collection, { paths: [data] })).pruned, 0);
    assert.ok(await collection.store.get(join(data, 'tone.wav')));
    const report = await ingest(collection, { paths: [data], prune: true });
    assert.equal(report.pruned, 1);
    assert.equal(await collection.store.get(join(data, 'tone.wav')), undefined);
    assert.equal(report.items, 6);
  });

  test('a missing path is reported, not fatal', async () => {
    const { collection, data } = fixture;
    await ingest(collection, { paths: [join(data, 'photo.png')] });
    const report = await ingest(collection, { paths: [join(data, 'nope'), join(data, 'photo.png')] });
    assert.deepEqual(
      report.failed.map((f) => f.reason),
      ['no such file or folder'],
    );
    assert.equal(report.unchanged, 1);
    assert.ok(existsSync(join(data, 'photo.png')));
  });
});
