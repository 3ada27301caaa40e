import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { errorLines, runCli, spawnCli } from '../helpers/cli.js';
import { AUDIO, IMAGES, ROOT, TINY_BUNDLE, tempDir } from '../helpers/paths.js';

describe('xmodal index / search', () => {
  const home = tempDir();
  const data = tempDir('xmodal-data-');
  before(() => {
    copyFileSync(join(IMAGES, 'photo.png'), join(data, 'photo.png'));
    copyFileSync(join(IMAGES, 'corrupt.jpg'), join(data, 'corrupt.jpg'));
    copyFileSync(join(AUDIO, 'sine.ogg'), join(data, 'tone.ogg'));
    writeFileSync(join(data, 'notes.txt'), 'Dogs are loyal animals.\n\nThe sea at sunset is calm.\n');
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('index prints a summary, reports the bad file on stderr, and exits 3 (the real binary)', async () => {
    const result = await spawnCli(['--home', home, 'index', data, '--model', TINY_BUNDLE]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stdout, /indexed 3, unchanged 0, failed 1, pruned 0 of 4 files/);
    assert.match(errorLines(result).join('\n'), /failed: .*corrupt\.jpg: cannot decode image/);
  });

  test('search --json prints results best first in the documented shape', async () => {
    const result = await runCli([
      '--home',
      home,
      'search',
      '--image',
      join(data, 'photo.png'),
      '-k',
      '2',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const { results } = JSON.parse(result.stdout);
    assert.equal(results.length, 2);
    assert.deepEqual(Object.keys(results[0]).sort(), ['id', 'meta', 'mime', 'modality', 'score', 'uri']);
    assert.equal(results[0].uri, join(data, 'photo.png'));
    assert.ok(results[0].score >= results[1].score);
  });

  test('text output shows rank, score, modality and path; filters apply', async () => {
    const result = await runCli([
      '--home',
      home,
      'search',
      'sea at sunset',
      '--modality',
      'text',
      '--path-prefix',
      data,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^\s*1\s+-?\d\.\d{4}\s+text\s+.*notes\.txt/);
  });

  test('a file name with a newline or a tab stays on its one line, escaped, in text output', async () => {
    const odd = tempDir('xmodal-odd-');
    try {
      copyFileSync(join(IMAGES, 'corrupt.jpg'), join(odd, 'bad\nname.jpg'));
      copyFileSync(join(IMAGES, 'photo.png'), join(odd, 'good\tname.png'));
      const home = tempDir('xmodal-odd-home-');
      const indexed = await runCli(['--home', home, 'index', odd, '--model', TINY_BUNDLE]);
      assert.equal(indexed.code, 3, indexed.stderr);
      const lines = errorLines(indexed);
      assert.equal(lines.length, 1, indexed.stderr);
      assert.ok(lines[0].startsWith(`failed: ${odd}/bad\\nname.jpg: cannot decode image`), lines[0]);
      const found = await runCli([
        '--home',
        home,
        'search',
        '--image',
        join(odd, 'good\tname.png'),
        '--model',
        TINY_BUNDLE,
      ]);
      assert.equal(found.code, 0, found.stderr);
      assert.match(found.stdout.split('\n')[0], new RegExp(`image  ${odd}/good\\\\tname\\.png$`));
      rmSync(home, { recursive: true, force: true });
    } finally {
      rmSync(odd, { recursive: true, force: true });
    }
  });

  test('combined weighted query with a negative part runs', async () => {
    const result = await runCli([
      '--home',
      home,
      'search',
      '--text',
      'dogs@2',
      '--audio',
      join(data, 'tone.ogg'),
      '--not',
      'sea',
      '-k',
      '1',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).results.length, 1);
  });

  const failures: [string, string[], number, RegExp][] = [
    ['unknown collection', ['search', 'x', '--collection', 'nope'], 4, /no collection "nope"/],
    ['no query', ['search'], 2, /nothing to search for/],
    ['bad k', ['search', 'x', '-k', '0'], 2, /-k must be a positive integer/],
    ['unknown like id', ['search', '--like', 'no-such-id'], 4, /no item "no-such-id"/],
    [
      'another model on the collection',
      ['index', '.', '--model', join(ROOT, 'test/fixtures/models/tiny-clip')],
      6,
      /was made with/,
    ],
  ];
  for (const [name, args, exitCode, message] of failures) {
    test(`bad input: ${name}`, async () => {
      const result = await runCli(['--home', home, ...args]);
      assert.equal(result.code, exitCode, result.stderr);
      const lines = errorLines(result);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0], message);
    });
  }
});

describe('kill -9 during indexing', () => {
  const home = tempDir();
  const data = tempDir('xmodal-many-');
  const FILES = 600;
  before(async () => {
    mkdirSync(data, { recursive: true });
    await Promise.all(
      Array.from({ length: FILES }, (_, i) =>
        sharp({
          create: {
            width: 40,
            height: 40,
            channels: 3,
            background: { r: i % 256, g: (i * 7) % 256, b: (i * 13) % 256 },
          },
        })
          .png()
          .toFile(join(data, `img-${String(i).padStart(4, '0')}.png`)),
      ),
    );
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('a re-run after SIGKILL ends with every file exactly once', async () => {
    const file = join(home, 'collections', 'default', 'items.sqlite');
    /** Items the killed run has made durable so far, read as another reader would. */
    const durable = () => {
      if (!existsSync(file)) return 0;
      try {
        const db = new Database(file, { readonly: true, fileMustExist: true });
        try {
          return (db.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n;
        } finally {
          db.close();
        }
      } catch {
        return 0; // created but not yet initialised
      }
    };
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        '--home',
        home,
        'index',
        data,
        '--model',
        TINY_BUNDLE,
      ],
      { cwd: ROOT, stdio: 'ignore' },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // Kill as soon as a batch is durable, while the rest are still being embedded: a condition, not a clock.
    let done = false;
    child.on('exit', () => {
      done = true;
    });
    while (!done && durable() === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the first run was killed mid-way');

    const rerun = await runCli(['--home', home, 'index', data, '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    const report = JSON.parse(rerun.stdout);
    assert.ok(report.unchanged > 0, 'work acknowledged before the kill was kept');
    assert.ok(report.indexed > 0, 'the rest was done by the re-run');
    assert.equal(report.indexed + report.unchanged, FILES);
    assert.equal(report.items, FILES, 'every file exactly once');
    const again = JSON.parse((await runCli(['--home', home, 'index', data, '--json'])).stdout);
    assert.equal(again.unchanged, FILES);
  });
});

describe('a collection remembers the encoder spec it was indexed with', () => {
  const home = tempDir();
  after(() => rmSync(home, { recursive: true, force: true }));
  const photo = join(IMAGES, 'photo.png');
  const clip = join(ROOT, 'test/fixtures/models/tiny-clip');

  test('indexed with --dtype q8, searched without --dtype: the q8 weights embed the query', async () => {
    const indexed = await runCli(['--home', home, 'index', photo, '--model', clip, '--dtype', 'q8']);
    assert.equal(indexed.code, 0, indexed.stderr);
    const result = await runCli(['--home', home, 'search', '--image', photo, '-k', '1', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const [top] = JSON.parse(result.stdout).results;
    assert.equal(top.uri, photo);
    // The same file through the same weights scores 1; fp32 weights give ~0.9997 on this model.
    assert.ok(top.score > 0.99999, `score ${top.score}: the query was not embedded with q8`);
  });

  test('asking for another dtype on it is refused with a clear error', async () => {
    const result = await runCli(['--home', home, 'search', 'x', '--dtype', 'fp32']);
    assert.equal(result.code, 6, result.stderr);
    assert.deepEqual(errorLines(result).length, 1, result.stderr);
    assert.match(errorLines(result)[0], /indexed with q8 weights, not fp32/);
  });
});
