// Audio longer than a clip may be (600 s) is indexed moment by moment through ffmpeg, as a video's sound is:
// found where it was refused before ("audio is 900.1 s long, over the 600 s limit").
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { classifyMoments, moderateMoments } from '../../src/index.js';
import { findVideoTools } from '../../src/media/video.js';
import type { ItemRecord } from '../../src/store/store.js';
import { ingest } from '../../src/tasks/ingest.js';
import { hitPlace } from '../../src/tasks/moments.js';
import { searchCollection } from '../../src/tasks/search.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { runCli } from '../helpers/cli.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { AUDIO, FIXTURES, tempDir } from '../helpers/paths.js';
import { buildLongRecording, DEMO_SOUND, NO_FFMPEG } from '../helpers/video.js';

const PIANO_QUERY = join(FIXTURES, 'heldout', 'audio', 'gm-piano-acoustic-grand-piano.wav');
const LENGTH = 660;
const PIANO_AT = 420;

describe('long recordings: indexed and found moment by moment', { skip: NO_FFMPEG || MINI_MISSING }, () => {
  const home = tempDir();
  const data = tempDir('xmodal-recording-');
  const ogg = join(data, 'field-recording.ogg');
  const mp3 = join(data, 'podcast.mp3');
  let collection: OpenCollection;
  const records = async (uri: string) => {
    const found: ItemRecord[] = [];
    for await (const record of collection.store.iterate({ filter: { uriPrefix: uri } })) found.push(record);
    return found;
  };

  before(async () => {
    // 11 minutes of quiet pink noise with a piano note at 7:00.
    buildLongRecording(ogg, {
      seconds: LENGTH,
      sound: DEMO_SOUND('instrument-acoustic-grand-piano'),
      at: PIANO_AT,
    });
    const { ffmpeg } = findVideoTools()!;
    // The same as an MP3 with cover art: the picture is no video to sample.
    const cover = join(data, 'cover.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c33' } })
      .png()
      .toFile(cover);
    execFileSync(ffmpeg, [
      ...[
        '-v',
        'error',
        '-i',
        ogg,
        '-i',
        cover,
        '-map',
        '0:a',
        '-map',
        '1:v',
        '-c:a',
        'libmp3lame',
        '-b:a',
        '32k',
      ],
      ...['-c:v', 'png', '-disposition:v:0', 'attached_pic', '-id3v2_version', '3', mp3],
    ]);
    rmSync(cover);
    collection = await openCollection({ home }, 'default', { model: MINI, create: true });
  });
  after(async () => {
    await collection?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('an 11-minute recording becomes sound windows with their time; a short clip stays one item', async () => {
    const report = await ingest(collection, { paths: [data, join(AUDIO, 'sine.ogg')] });
    assert.deepEqual(report.failed, []);
    assert.equal(report.indexed, 3);
    for (const uri of [ogg, mp3]) {
      const windows = await records(uri);
      assert.ok(windows.length >= LENGTH / 4, `${uri}: ${windows.length} windows`);
      assert.ok(
        windows.every(
          (w) => w.modality === 'audio' && w.meta?.recording === true && w.meta.video === undefined,
        ),
        `${uri}: sound windows of a recording only, no frames of its cover`,
      );
      const times = windows.map((w) => Number(w.meta?.t));
      assert.ok(Math.max(...times) > LENGTH - 10, `${uri}: windows up to the end (${Math.max(...times)} s)`);
      assert.ok(Math.abs(Number(windows[0].meta?.recordingDuration) - LENGTH) < 1);
    }
    const [clip] = await records(join(AUDIO, 'sine.ogg'));
    assert.equal(clip.meta?.recording, undefined);
    assert.equal(clip.meta?.t, undefined);
    const again = await ingest(collection, { paths: [data] });
    assert.equal(again.unchanged, 2, 'unchanged recordings are skipped');
  });

  test('a piano query finds the moment of the piano in the recording', async () => {
    const hits = await searchCollection(collection, {
      parts: [{ kind: 'audio', value: PIANO_QUERY }],
      k: 3,
      filter: { uriPrefix: ogg },
    });
    assert.ok(hits[0].t !== undefined, JSON.stringify(hits[0]));
    assert.ok(
      hits[0].t >= PIANO_AT - 2 && hits[0].t <= PIANO_AT + 4,
      `the best moment is at ${hits[0].t} s, the piano at ${PIANO_AT} s`,
    );
    assert.match(hitPlace(hits[0]), /field-recording\.ogg @ 7:0\d$/);
  });

  test('classify and moderate take it moment by moment, where a clip over 600 s was refused', async () => {
    const classified = await runCli(['classify', ogg, '--labels', 'piano,drum', '--json', '-m', MINI]);
    assert.equal(classified.code, 0, classified.stderr);
    const { duration, moments } = JSON.parse(classified.stdout);
    assert.ok(Math.abs(duration - LENGTH) < 1, `duration ${duration}`);
    assert.ok(moments.length >= 1 && moments.every((m: { modality: string }) => m.modality === 'audio'));
    assert.ok(moments.at(-1).end > LENGTH - 10, 'labelled to the end');
    const moderated = await runCli(['moderate', mp3, '--json', '-m', MINI]);
    assert.ok([0, 1].includes(moderated.code ?? -1), moderated.stderr);
    assert.ok(Math.abs(JSON.parse(moderated.stdout).duration - LENGTH) < 1);
    // The library's calls are what the CLI prints.
    assert.deepEqual(
      await classifyMoments(ogg, { model: MINI, labels: ['piano', 'drum'] }),
      JSON.parse(classified.stdout),
    );
    assert.deepEqual(await moderateMoments(mp3, { model: MINI }), JSON.parse(moderated.stdout));
  });
});
