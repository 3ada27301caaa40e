import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expandPaths } from '../../src/tasks/expand-paths.js';
import { ingest } from '../../src/tasks/ingest.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { spawnCli } from '../helpers/cli.js';
import { holdCollectionLock } from '../helpers/held-lock.js';
import { IMAGES, ROOT, TINY_BUNDLE, TINY_CLIP, tempDir } from '../helpers/paths.js';

/** Six small PNGs in `folder` (distinct content, so none is a duplicate of another). */
function sixImages(folder: string): string[] {
  mkdirSync(folder, { recursive: true });
  const names = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png', 'f.png'];
  for (const name of names) copyFileSync(join(IMAGES, 'photo.png'), join(folder, name));
  return names.map((name) => join(folder, name));
}

describe('paths: globs, folder walks and links', () => {
  const data = tempDir('xmodal-paths-');

  after(() => rmSync(data, { recursive: true, force: true }));

  test('a glob through a link loop is finite and yields each file once', async () => {
    const loop = join(data, 'loop');
    const files = sixImages(loop);
    symlinkSync('.', join(loop, 'a'));
    symlinkSync('.', join(loop, 'b'));
    const globbed = await expandPaths([`${loop}/**/*.png`]);
    assert.deepEqual(globbed.files, files);
    const walked = await expandPaths([loop]);
    assert.deepEqual(walked.files, files);
    // The same file named twice (directly and through a link) is still one file.
    symlinkSync(join(loop, 'a.png'), join(data, 'link-to-a.png'));
    const twice = await expandPaths([join(loop, 'a.png'), join(data, 'link-to-a.png'), `${loop}/a/a/*.png`]);
    assert.equal(twice.files.length, 6);
  });

  test('roots confine every file by its real path: globs, walks, links and direct paths', async () => {
    const root = join(data, 'root');
    const elsewhere = join(data, 'elsewhere');
    const inside = sixImages(join(root, 'pics'));
    const secret = join(elsewhere, 'secret.txt');
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(secret, 'the password is swordfish\n');
    symlinkSync(elsewhere, join(root, 'secret-link'));
    symlinkSync(secret, join(root, 'secret.txt'));
    const roots = [root];
    for (const paths of [
      [`${root}/secret-link/*`],
      [`${root}/**`],
      [root],
      [join(root, 'secret.txt')],
      [join(root, 'secret-link', 'secret.txt')],
    ]) {
      const { files, skipped } = await expandPaths(paths, { roots });
      assert.ok(!files.some((f) => f.includes('secret')), `${paths}: ${files}`);
      assert.ok(
        files.every((f) => inside.includes(f)),
        `${paths}: only the root's own files`,
      );
      if (paths[0].includes('secret'))
        assert.ok(
          skipped.some((s) => s.reason.includes('outside')),
          `${paths}: ${JSON.stringify(skipped)}`,
        );
    }
    // Without roots (the CLI), a link to a file is the user's own choice and is followed.
    assert.ok((await expandPaths([join(root, 'secret.txt')])).files.length === 1);
  });

  test('FIFOs, links to devices and broken links inside a folder are skipped and reported, not read', async () => {
    const odd = join(data, 'odd');
    mkdirSync(odd);
    copyFileSync(join(IMAGES, 'photo.png'), join(odd, 'ok.png'));
    execFileSync('mkfifo', [join(odd, 'pipe')]);
    symlinkSync(join(odd, 'nowhere'), join(odd, 'broken'));
    symlinkSync('self', join(odd, 'self'));
    symlinkSync('/dev/zero', join(odd, 'zero.png'));
    const { files, skipped } = await expandPaths([odd, join(odd, 'pipe')]);
    assert.deepEqual(files, [join(odd, 'ok.png')]);
    const reasons = Object.fromEntries(skipped.map((s) => [s.path.split('/').pop(), s.reason]));
    assert.deepEqual(reasons, {
      pipe: 'not a regular file',
      broken: 'no such file',
      self: 'symbolic link loop',
      'zero.png': 'not a regular file',
    });
  });

  test('odd names are found as named; a name that is not UTF-8 is reported by its bytes, the rest kept', async () => {
    const names = join(data, 'names');
    mkdirSync(names);
    const good = [
      '-dash.png',
      'back\\slash.png',
      'new\nline.png',
      '*?[a]{b,c} $(x) `y`;|&\'" % _.png',
      `${'n'.repeat(251)}.png`,
      `${'é'.repeat(125)}x.png`,
    ].map((name) => join(names, name));
    for (const path of good) copyFileSync(join(IMAGES, 'photo.png'), path);
    const bytes = (...parts: (string | number[])[]) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
    copyFileSync(join(IMAGES, 'photo.png'), bytes(`${names}/f`, [0xff, 0xfe], '.png'));
    copyFileSync(join(IMAGES, 'photo.png'), bytes(`${names}/g`, [0xe9], '.png'));
    mkdirSync(bytes(`${names}/d`, [0xc3]));
    copyFileSync(join(IMAGES, 'photo.png'), bytes(`${names}/d`, [0xc3], '/inside.png'));
    const { files, skipped } = await expandPaths([names]);
    assert.deepEqual(files, [...good].sort());
    assert.deepEqual(
      skipped.sort((a, b) => (a.path < b.path ? -1 : 1)),
      [
        { path: join(names, 'd\\xc3'), reason: 'folder name is not valid UTF-8: its files are not read' },
        { path: join(names, 'f\\xff\\xfe.png'), reason: 'file name is not valid UTF-8' },
        { path: join(names, 'g\\xe9.png'), reason: 'file name is not valid UTF-8' },
      ],
    );
  });

  test('an aborted walk stops with the signal’s reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('client gone'));
    await assert.rejects(expandPaths([`${data}/**/*`], { signal: controller.signal }), /client gone/);
  });
});

describe('ingest: tags, unreadable folders', () => {
  const home = tempDir();
  const data = tempDir('xmodal-tags-');
  let collection: OpenCollection;

  before(async () => {
    sixImages(join(data, 'pets'));
    collection = await openCollection({ home }, 'default', { model: TINY_BUNDLE, create: true });
  });
  after(async () => {
    await collection.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('--tag on unchanged files adds the tag and keeps the others', async () => {
    await ingest(collection, { paths: [data], tags: ['old'] });
    const report = await ingest(collection, { paths: [data], tags: ['pets'] });
    assert.equal(report.unchanged, 6);
    assert.equal(report.indexed, 0);
    assert.equal(await collection.store.count({ tagsAll: ['pets', 'old'] }), 6);
    const item = await collection.store.get(join(data, 'pets', 'a.png'));
    assert.equal(item?.vector.length, collection.encoder.dim);
  });

  test('an aborted run writes nothing more', async () => {
    const more = join(data, 'more');
    sixImages(more);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(ingest(collection, { paths: [more], signal: controller.signal }), /stop/);
    assert.equal(await collection.store.count({ uriPrefix: more }), 0);
  });
});

describe('index: an unreadable subfolder', () => {
  const home = tempDir();
  const data = tempDir('xmodal-eacces-');
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('is skipped and reported; the rest is indexed', async () => {
    sixImages(join(data, 'readable'));
    sixImages(join(data, 'locked'));
    chmodSync(join(data, 'locked'), 0o000);
    // Permissions mean nothing to root: run the CLI as nobody then.
    chmodSync(home, 0o777);
    chmodSync(data, 0o755);
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    // Another user is another process: the real binary.
    const result = await spawnCli(
      ['index', data, '--model', TINY_CLIP, '--json'],
      { XMODAL_HOME: home, HOME: home },
      120_000,
      asNobody,
    );
    chmodSync(join(data, 'locked'), 0o755);
    assert.equal(result.code, 3, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.indexed, 6);
    assert.deepEqual(report.failed, [
      { path: join(data, 'locked'), reason: 'cannot read folder (permission denied)' },
    ]);
  });
});

describe('index: two runs on one collection', () => {
  const home = tempDir();
  const data = tempDir('xmodal-two-runs-');
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('run at once, both finish and every file is there once', async () => {
    for (let i = 0; i < 300; i++) writeFileSync(join(data, `note-${i}.txt`), `note number ${i}\n`);
    const env = { XMODAL_HOME: home };
    const args = ['index', data, '--model', TINY_CLIP, '--json'];
    const [a, b] = await Promise.all([spawnCli(args, env), spawnCli(args, env)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const reports = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    assert.deepEqual(
      reports.map((r) => r.items),
      [300, 300],
    );
    assert.equal(reports[0].indexed + reports[1].indexed, 300, 'the run that waited finds them unchanged');
  });

  test('a run that finds the collection busy waits, says so, and goes on when it is free', async () => {
    const lock = await holdCollectionLock({ home }, 'default');
    writeFileSync(join(data, 'late.txt'), 'a late note\n');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'index', data, '--model', TINY_CLIP, '--json'],
      { cwd: ROOT, env: { ...process.env, XMODAL_HOME: home } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    // Free the collection once the second run says it is waiting.
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('waiting:')) lock.release();
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    await lock.release();
    const result = { code, stdout, stderr };
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /waiting: collection "default" is being indexed by another run \(process \d+\)/,
    );
    assert.equal(JSON.parse(result.stdout).indexed, 1);
  });
});
