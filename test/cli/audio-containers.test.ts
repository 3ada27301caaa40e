import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { errorLines, runCli } from '../helpers/cli.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { FIXTURES, tempDir } from '../helpers/paths.js';
import { AUDIO_ONLY, buildAudioOnly, buildWebmVideo, DEMO_SOUND, NO_FFMPEG } from '../helpers/video.js';

const PIANO = DEMO_SOUND('instrument-acoustic-grand-piano');
const PIANO_QUERY = join(FIXTURES, 'heldout', 'audio', 'gm-piano-acoustic-grand-piano.wav');
const NAMES = Object.keys(AUDIO_ONLY) as (keyof typeof AUDIO_ONLY)[];

describe('xmodal index / embed with audio-only containers', { skip: NO_FFMPEG || MINI_MISSING }, () => {
  const home = tempDir();
  const data = tempDir('xmodal-audio-containers-');
  const video = join(data, 'clip.webm');

  before(() => {
    for (const name of NAMES) buildAudioOnly(join(data, name), PIANO, name);
    buildWebmVideo(video, PIANO);
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('embed --audio takes a recorder WebM, a .mka and an AAC MP4 as one clip each, close to the source', async () => {
    const args = ['embed', '--model', MINI, '--json', '--audio', PIANO];
    for (const name of NAMES) args.push('--audio', join(data, name));
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    const [source, ...clips] = JSON.parse(result.stdout).embeddings;
    assert.deepEqual(
      clips.map((e: { modality: string }) => e.modality),
      NAMES.map(() => 'audio'),
    );
    for (const clip of clips) {
      const cosine = clip.embedding.reduce(
        (s: number, x: number, i: number) => s + x * source.embedding[i],
        0,
      );
      assert.ok(cosine > 0.9, `${clip.input}: cosine ${cosine} with the clip it was encoded from`);
    }
  });

  test('index without ffmpeg: audio-only containers are indexed as sounds, only the video is skipped', async () => {
    const bare = tempDir('xmodal-no-ffmpeg-');
    try {
      const result = await runCli(['--home', bare, 'index', data], { PATH: bare });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stdout, /indexed 3, unchanged 0, failed 0, skipped 1, pruned 0 of 4 files/);
      assert.deepEqual(errorLines(result).length, 1);
      assert.match(errorLines(result)[0], /^skipped: .*clip\.webm: video needs ffmpeg/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test('index then search: each container is one audio hit without a time, the video has moments', async () => {
    const indexed = await runCli(['--home', home, 'index', data]);
    assert.equal(indexed.code, 0, indexed.stderr);
    assert.match(indexed.stdout, /indexed 4, unchanged 0, failed 0/);
    const found = await runCli(['--home', home, 'search', PIANO_QUERY, '--json', '-k', '20']);
    assert.equal(found.code, 0, found.stderr);
    const { results } = JSON.parse(found.stdout);
    const byUri = (uri: string) => results.filter((r: { uri: string }) => r.uri === uri);
    for (const name of NAMES) {
      const hits = byUri(join(data, name));
      assert.deepEqual(
        hits.map((h: { modality: string; t?: number }) => [h.modality, h.t]),
        [['audio', undefined]],
        name,
      );
    }
    assert.ok(
      byUri(video).every((h: { t?: number }) => typeof h.t === 'number') && byUri(video).length > 0,
      'the video is found by its moments',
    );
  });
});
