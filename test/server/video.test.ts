import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildSceneVideo } from '../../src/tasks/demo.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { tempDir } from '../helpers/paths.js';
import { DEMO_SOUND, NO_FFMPEG } from '../helpers/video.js';
import { type Json, type RunningServer, startServer } from './harness.js';

describe('server: video moments and their content', { skip: NO_FFMPEG || MINI_MISSING }, () => {
  let server: RunningServer;
  const data = tempDir('xmodal-video-');
  const video = join(data, 'scenes.mp4');
  let bytes: Buffer;
  let moment: Json;

  before(async () => {
    await buildSceneVideo(video, [
      { picture: 'dog', seconds: 4, sound: DEMO_SOUND('drum-bass-drum') },
      { picture: 'automobile', seconds: 4, sound: DEMO_SOUND('instrument-acoustic-grand-piano') },
    ]);
    bytes = readFileSync(video);
    server = await startServer({ model: MINI });
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)]), 'scenes.mp4');
    const indexed = await fetch(`${server.base}/collections/default/index`, { method: 'POST', body: form });
    assert.equal(indexed.status, 200, await indexed.text());
  });
  after(async () => {
    await server?.close();
    rmSync(data, { recursive: true, force: true });
  });

  test('search hits inside a video carry t, filtered to moments by meta.video', async () => {
    const { status, body } = await server.call('POST', '/search', {
      text: 'car',
      filter: { meta: { video: true } },
    });
    assert.equal(status, 200);
    moment = body.hits[0];
    assert.ok(moment.t >= 4 && moment.t < 8, `car at ${moment.t}`);
    assert.equal(moment.mime, 'video/mp4');
    assert.ok(body.hits.every((h: Json) => h.meta.video === true));
  });

  test('content serves the whole video, and byte ranges of it for seeking', async () => {
    const whole = await fetch(server.base + moment.content);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/mp4');
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), bytes);

    const part = await fetch(server.base + moment.content, { headers: { range: 'bytes=100-1099' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-1099/${bytes.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(100, 1100));

    const tail = await fetch(server.base + moment.content, { headers: { range: 'bytes=-10' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), bytes.subarray(bytes.length - 10));

    const past = await fetch(server.base + moment.content, {
      headers: { range: `bytes=${bytes.length + 5}-` },
    });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${bytes.length}`);
  });
});
