import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { FIXTURES, tempDir } from '../helpers/paths.js';
import { AUDIO_ONLY, buildAudioOnly, buildWebmVideo, DEMO_SOUND, NO_FFMPEG } from '../helpers/video.js';
import { cosine, type Json, type RunningServer, startServer } from './harness.js';

const PIANO = DEMO_SOUND('instrument-acoustic-grand-piano');
const PIANO_QUERY = join(FIXTURES, 'heldout', 'audio', 'gm-piano-acoustic-grand-piano.wav');
const NAMES = Object.keys(AUDIO_ONLY) as (keyof typeof AUDIO_ONLY)[];

describe('server: audio-only containers are sounds', { skip: NO_FFMPEG || MINI_MISSING }, () => {
  let server: RunningServer;
  const data = tempDir('xmodal-audio-containers-');

  before(async () => {
    for (const name of NAMES) buildAudioOnly(join(data, name), PIANO, name);
    buildWebmVideo(join(data, 'clip.webm'), PIANO);
    server = await startServer({ model: MINI });
  });
  after(async () => {
    await server?.close();
    rmSync(data, { recursive: true, force: true });
  });

  test('POST /embed/audio embeds each container like the clip it was encoded from', async () => {
    const clips = [PIANO, ...NAMES.map((n) => join(data, n))].map((p) => readFileSync(p).toString('base64'));
    const { status, body } = await server.call('POST', '/embed/audio', { audio: clips });
    assert.equal(status, 200, JSON.stringify(body));
    const [source, ...embedded] = body.embeddings;
    for (const [i, embedding] of embedded.entries())
      assert.ok(cosine(source, embedding) > 0.9, `${NAMES[i]}: cosine ${cosine(source, embedding)}`);
  });

  test('uploads to /collections/:name/index are one audio item each; the WebM video keeps its moments', async () => {
    const form = new FormData();
    for (const name of [...NAMES, 'clip.webm'])
      form.append('file', new Blob([new Uint8Array(readFileSync(join(data, name)))]), name);
    const indexed = await fetch(`${server.base}/collections/default/index`, { method: 'POST', body: form });
    assert.equal(indexed.status, 200, await indexed.text());
    const query = readFileSync(PIANO_QUERY).toString('base64');
    const { status, body } = await server.call('POST', '/search', { audio: query, k: 20 });
    assert.equal(status, 200, JSON.stringify(body));
    const named = (name: string) => body.hits.filter((h: Json) => h.uri.endsWith(`/${name}`));
    for (const name of NAMES)
      assert.deepEqual(
        named(name).map((h: Json) => [h.modality, h.meta?.video, h.t]),
        [['audio', undefined, undefined]],
        name,
      );
    const moments = named('clip.webm');
    assert.ok(
      moments.length > 0 && moments.every((h: Json) => h.meta.video === true),
      'the video has moments',
    );
  });
});
