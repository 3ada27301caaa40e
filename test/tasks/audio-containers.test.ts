import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeAudio } from '../../src/media/audio.js';
import { detectFile, detectMedia } from '../../src/media/detect.js';
import { ingest } from '../../src/tasks/ingest.js';
import { searchCollection } from '../../src/tasks/search.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { FIXTURES, tempDir } from '../helpers/paths.js';
import { AUDIO_ONLY, buildAudioOnly, buildWebmVideo, DEMO_SOUND, NO_FFMPEG } from '../helpers/video.js';

const PIANO = DEMO_SOUND('instrument-acoustic-grand-piano');
const PIANO_QUERY = join(FIXTURES, 'heldout', 'audio', 'gm-piano-acoustic-grand-piano.wav');
const NAMES = Object.keys(AUDIO_ONLY) as (keyof typeof AUDIO_ONLY)[];

describe('audio-only WebM, Matroska and MP4 are sounds, not videos', { skip: NO_FFMPEG }, () => {
  const data = tempDir('xmodal-audio-containers-');
  const video = join(data, 'clip.webm');
  let pianoSeconds = 0;

  before(async () => {
    for (const name of NAMES) buildAudioOnly(join(data, name), PIANO, name);
    buildWebmVideo(video, PIANO);
    const piano = await decodeAudio(PIANO);
    pianoSeconds = piano.samples.length / piano.sampleRate;
  });
  after(() => rmSync(data, { recursive: true, force: true }));

  for (const name of NAMES)
    test(`${name}: recognised as audio from its file and its bytes, and decoded in full`, async () => {
      const path = join(data, name);
      assert.equal((await detectFile(path))?.modality, 'audio');
      assert.equal((await detectMedia(readFileSync(path)))?.modality, 'audio');
      const { samples, sampleRate } = await decodeAudio(path);
      const seconds = samples.length / sampleRate;
      // Encoders pad a little at the start (Opus pre-skip, AAC priming).
      assert.ok(
        Math.abs(seconds - pianoSeconds) < 0.1,
        `${seconds} s decoded, the clip is ${pianoSeconds} s`,
      );
    });

  test('a WebM with a picture track stays a video', async () => {
    assert.equal((await detectFile(video))?.modality, 'video');
    assert.equal((await detectMedia(readFileSync(video)))?.modality, 'video');
  });

  test('an MP4 that declares 1 s but lists 20 minutes of frames is refused before any is decoded', async () => {
    // Its decoder returns a whole file's samples at once: the limit must be checked against the frame list.
    const path = join(data, 'declares-1s.mp4');
    const silence = ['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '1200'];
    execFileSync('ffmpeg', ['-v', 'error', '-y', ...silence, '-c:a', 'aac', '-b:a', '8k', '-f', 'mp4', path]);
    const bytes = readFileSync(path);
    for (const box of ['mvhd', 'mdhd']) {
      const at = bytes.indexOf(box) + 4; // version 0: times, timescale, duration
      bytes.writeUInt32BE(bytes.readUInt32BE(at + 12), at + 16);
    }
    writeFileSync(path, bytes);
    await assert.rejects(decodeAudio(path), { code: 'INPUT_TOO_LARGE', message: /1200\.\d s long/ });
  });

  test('the length limit holds for a recorder stream, whose header declares no length', async () => {
    await assert.rejects(decodeAudio(join(data, 'recorder.webm'), { maxSeconds: 1 }), {
      code: 'INPUT_TOO_LARGE',
    });
  });
});

describe('library: indexing audio-only containers', { skip: NO_FFMPEG || MINI_MISSING }, () => {
  const home = tempDir();
  const data = tempDir('xmodal-audio-containers-');
  const video = join(data, 'clip.webm');
  let collection: OpenCollection;

  before(async () => {
    for (const name of NAMES) buildAudioOnly(join(data, name), PIANO, name);
    buildWebmVideo(video, PIANO);
    collection = await openCollection({ home }, 'default', { model: MINI, create: true });
  });
  after(async () => {
    await collection?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('each is one audio item found by a piano query; the real video is indexed as a video', async () => {
    const report = await ingest(collection, { paths: [data] });
    assert.deepEqual(report.failed, []);
    assert.equal(report.indexed, NAMES.length + 1);
    for (const name of NAMES) {
      const items = [];
      for await (const item of collection.store.iterate({ filter: { uriPrefix: join(data, name) } }))
        items.push(item);
      assert.deepEqual(
        items.map((i) => [i.modality, i.meta?.video]),
        [['audio', undefined]],
        name,
      );
      assert.match(items[0].mime ?? '', /^audio\//, name);
    }
    const frames = [];
    for await (const item of collection.store.iterate({ filter: { uriPrefix: video } }))
      if (item.modality === 'image') frames.push(item);
    assert.ok(frames.length > 0 && frames.every((f) => f.meta?.video === true), 'the video has frames');

    const hits = await searchCollection(collection, {
      parts: [{ kind: 'audio', value: PIANO_QUERY }],
      k: 10,
    });
    const wholeClips = hits.filter((h) => !h.meta?.video).map((h) => h.uri);
    assert.deepEqual(wholeClips.sort(), NAMES.map((n) => join(data, n)).sort());
  });
});
