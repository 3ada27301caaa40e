// The CLI on a collection whose model got other weights in place (same folder, new files).
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errorLines, runCli } from '../helpers/cli.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { changeWeights, copyModel } from '../helpers/model-copy.js';
import { IMAGES, tempDir } from '../helpers/paths.js';

const REFUSAL =
  /collection "photos" was indexed with other weights of .+ \([0-9a-f]{16}, now [0-9a-f]{16}\); re-index it into a new collection, or drop it \(xmodal collections drop photos --yes\)$/;

describe('a collection indexed with weights its model no longer has', { skip: MINI_MISSING }, () => {
  const home = tempDir();
  const model = copyModel(MINI);
  const note = join(home, 'note.txt');
  before(async () => {
    const indexed = await runCli([
      '--home',
      home,
      'index',
      join(IMAGES, 'photo.png'),
      '-c',
      'photos',
      '--model',
      model,
    ]);
    assert.equal(indexed.code, 0, indexed.stderr);
    const found = await runCli(['--home', home, 'search', 'a photo', '-c', 'photos', '--json']);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(JSON.parse(found.stdout).results.length, 1);
    changeWeights(join(model, 'clip'), 'vision_model');
    writeFileSync(note, 'a note indexed after the weights changed\n');
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(model, { recursive: true, force: true });
  });

  for (const [what, args] of [
    ['search', ['search', 'a photo', '-c', 'photos']],
    ['index', ['index', note, '-c', 'photos']],
    ['index --model', ['index', note, '-c', 'photos', '--model', model]],
  ] as const) {
    test(`xmodal ${what} refuses with one line and exit code 6 (ENCODER_MISMATCH)`, async () => {
      const result = await runCli(['--home', home, ...args]);
      assert.equal(result.code, 6, result.stderr);
      const lines = errorLines(result);
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0], REFUSAL);
    });
  }
});
