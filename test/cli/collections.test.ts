// `xmodal collections` and `xmodal collections drop`, on real collections indexed with the shipped model.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { locateModel, modelId } from '../../src/encoders/load.js';
import { finished } from '../helpers/child.js';
import { cliChild, errorLines, runCli, spawnCli } from '../helpers/cli.js';
import { expectCliError } from '../helpers/expect-cli-error.js';
import { holdCollectionLock } from '../helpers/held-lock.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { changeWeights, copyModel } from '../helpers/model-copy.js';
import { AUDIO, IMAGES, tempDir } from '../helpers/paths.js';
import { startPgliteServer } from '../store/pglite-server.js';

interface Listed {
  store: string;
  collections: {
    name: string;
    encoderId: string;
    encoder?: { model: string; dtype: string; weights?: string };
    items: number;
    modalities: Record<string, number>;
  }[];
}

async function listed(workspace: string[]): Promise<Listed> {
  const result = await runCli([...workspace, 'collections', '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Listed;
}

describe('xmodal collections', { skip: MINI_MISSING }, () => {
  const home = tempDir();
  const data = tempDir('xmodal-data-');
  const files = [join(IMAGES, 'photo.png'), join(AUDIO, 'sine.ogg'), join(data, 'note.txt')];
  const at = ['--home', home];
  before(async () => {
    writeFileSync(join(data, 'note.txt'), 'A short note about the sea.\n');
    for (const name of ['media', 'kept', 'doomed']) {
      const indexed = await runCli([...at, 'index', ...files, '-c', name, '--model', MINI]);
      assert.equal(indexed.code, 0, indexed.stderr);
    }
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('lists each collection on one line with its items per modality, model, dtype and weights', async () => {
    const result = await runCli([...at, 'collections']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `collections in ${join(home, 'collections')}`);
    const media = lines.find((line) => line.startsWith('media '));
    assert.match(
      media ?? '',
      /^media {2}3 items \(text 1, image 1, audio 1\) {2}.+@fp32 {2}weights [0-9a-f]{16}$/,
    );
    // `collections list` is the same command.
    assert.equal((await runCli([...at, 'collections', 'list'])).stdout, result.stdout);
  });

  test('--json gives the store, each stamp and its counts', async () => {
    const { store, collections } = await listed(at);
    assert.equal(store, join(home, 'collections'));
    const media = collections.find((c) => c.name === 'media');
    assert.ok(media, JSON.stringify(collections));
    assert.equal(media.encoderId, modelId(locateModel(MINI)));
    assert.equal(media.encoder?.dtype, 'fp32');
    assert.match(media.encoder?.weights ?? '', /^[0-9a-f]{16}$/);
    assert.equal(media.items, 3);
    assert.deepEqual(media.modalities, { text: 1, image: 1, audio: 1 });
  });

  test('drop without --yes refuses with exit code 2 (BAD_ARGUMENT) and keeps the collection (the real binary)', async () => {
    const result = await spawnCli([...at, 'collections', 'drop', 'kept']);
    assert.equal(result.code, 2, result.stderr);
    const lines = errorLines(result);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], /^xmodal: dropping "kept" deletes its items for good: run it again with --yes$/);
    const found = await runCli([...at, 'search', 'the sea', '-c', 'kept', '--json']);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(JSON.parse(found.stdout).results.length, 3);
  });

  test('drop --yes deletes it: no longer listed, its folder gone, search answers NOT_FOUND', async () => {
    const dropped = await runCli([...at, 'collections', 'drop', 'doomed', '--yes']);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(dropped.stdout, 'dropped doomed\n');
    const names = (await listed(at)).collections.map((c) => c.name);
    assert.ok(!names.includes('doomed'), names.join(', '));
    assert.ok(names.includes('media'), names.join(', '));
    assert.equal(existsSync(join(home, 'collections', 'doomed')), false);
    await expectCliError([...at, 'search', 'the sea', '-c', 'doomed'], 4, /^xmodal: no collection "doomed"/);
  });

  test('drop waits for an indexing run on the collection, says so, then drops it', async () => {
    const indexed = await runCli([...at, 'index', files[2], '-c', 'busy', '--model', MINI]);
    assert.equal(indexed.code, 0, indexed.stderr);
    // Another process indexing 'busy' holds its lock until released.
    let keptWhileHeld = false;
    const lock = await holdCollectionLock({ home }, 'busy', async () => {
      keptWhileHeld = (await listed(at)).collections.some((c) => c.name === 'busy');
    });
    const child = cliChild([...at, 'collections', 'drop', 'busy', '--yes'], { env: process.env });
    child.stderr?.on('data', (d) => {
      if (String(d).includes('waiting:')) lock.release();
    });
    const dropped = await finished(child);
    await lock.release(); // a drop that did not wait has exited by now
    assert.equal(keptWhileHeld, true, 'the collection was still there for the whole indexing run');
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(
      dropped.stderr,
      `waiting: collection "busy" is being indexed by another run (process ${process.pid})\n`,
    );
    assert.equal(dropped.stdout, 'dropped busy\n');
    assert.ok(!(await listed(at)).collections.some((c) => c.name === 'busy'));
  });

  test('drop of an unknown name answers NOT_FOUND (exit code 4), with or without --yes', async () => {
    for (const yes of [[], ['--yes']])
      await expectCliError(
        [...at, 'collections', 'drop', 'nothing-here', ...yes],
        4,
        /no collection "nothing-here"/,
      );
    await expectCliError([...at, 'collections', 'drop', '../media', '--yes'], 2, /collection name/);
  });

  test('an empty home lists no collections', async () => {
    const empty = tempDir();
    try {
      const result = await runCli(['--home', empty, 'collections']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `no collections in ${join(empty, 'collections')}\n`);
      assert.deepEqual((await listed(['--home', empty])).collections, []);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('xmodal collections --store postgres://', { skip: MINI_MISSING }, () => {
  const home = tempDir();
  let pg: Awaited<ReturnType<typeof startPgliteServer>>;
  before(async () => {
    pg = await startPgliteServer();
  });
  after(async () => {
    await pg.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test('lists and drops collections in PostgreSQL, never showing the password', async () => {
    const at = ['--home', home, '--store', pg.url];
    const indexed = await runCli([
      ...at,
      'index',
      join(IMAGES, 'photo.png'),
      '-c',
      'pgphotos',
      '--model',
      MINI,
    ]);
    assert.equal(indexed.code, 0, indexed.stderr);
    const { store, collections } = await listed(at);
    assert.equal(store, pg.url.replace('postgres:postgres@', '…@'));
    assert.deepEqual(
      collections.map((c) => [c.name, c.items, c.modalities]),
      [['pgphotos', 1, { text: 0, image: 1, audio: 0 }]],
    );
    const text = await runCli([...at, 'collections']);
    assert.ok(!text.stdout.includes('postgres:postgres'), text.stdout);
    const dropped = await runCli([...at, 'collections', 'drop', 'pgphotos', '--yes']);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.deepEqual((await listed(at)).collections, []);
    await expectCliError(
      [...at, 'search', 'a photo', '-c', 'pgphotos'],
      4,
      /^xmodal: no collection "pgphotos" in postgres:\/\/…@127\.0\.0\.1:\d+\/postgres;/,
    );
  });
});

describe('following the advice of a refusal for other weights', { skip: MINI_MISSING }, () => {
  const home = tempDir();
  const model = copyModel(MINI);
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(model, { recursive: true, force: true });
  });

  test('the command the refusal names drops the collection, and indexing again works', async () => {
    const at = ['--home', home];
    const photo = join(IMAGES, 'photo.png');
    const first = await runCli([...at, 'index', photo, '-c', 'photos', '--model', model]);
    assert.equal(first.code, 0, first.stderr);
    const before = (await listed(at)).collections[0].encoder?.weights;
    changeWeights(join(model, 'clip'), 'vision_model');

    const refused = await runCli([...at, 'search', 'a photo', '-c', 'photos']);
    assert.equal(refused.code, 6, refused.stderr);
    const advice = /\(xmodal (collections drop photos --yes)\)$/.exec(errorLines(refused)[0]);
    assert.ok(advice, refused.stderr);
    const dropped = await runCli([...at, ...advice[1].split(' ')]);
    assert.equal(dropped.code, 0, dropped.stderr);

    const again = await runCli([...at, 'index', photo, '-c', 'photos', '--model', model]);
    assert.equal(again.code, 0, again.stderr);
    const after = (await listed(at)).collections[0];
    assert.equal(after.items, 1);
    assert.notEqual(after.encoder?.weights, before);
    const found = await runCli([...at, 'search', 'a photo', '-c', 'photos', '--json']);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(JSON.parse(found.stdout).results.length, 1);
  });
});
