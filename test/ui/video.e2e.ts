// A video moment in the web UI, in Debian's Chromium (playwright-core), against a real server.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildSceneVideo } from '../../src/tasks/demo.js';
import { launchChromium, NO_CHROMIUM } from '../helpers/chromium.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { buildLongRecording, DEMO_SOUND, NO_FFMPEG } from '../helpers/video.js';
import { type RunningServer, startServer } from '../server/harness.js';

const ARTIFACTS = join(ROOT, 'test-artifacts');

/** A server with `file` uploaded into its default collection, and the UI open on it in Chromium. */
async function openUiWith(file: string, chromiumArgs: string[] = []) {
  const server = await startServer({ model: MINI });
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(readFileSync(file))]), basename(file));
  const indexed = await fetch(`${server.base}/collections/default/index`, { method: 'POST', body: form });
  assert.equal(indexed.status, 200, await indexed.text());
  const browser = await launchChromium(chromiumArgs);
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(server.base);
  await page.waitForFunction(() => /\d+ items/.test(document.getElementById('stats')?.textContent ?? ''));
  return { server, browser, page };
}

describe('web UI: a video moment', {
  skip: NO_CHROMIUM || NO_FFMPEG || MINI_MISSING,
}, () => {
  const data = tempDir('xmodal-video-');
  let browser: Browser;
  let server: RunningServer;
  let page: Page;

  before(async () => {
    const video = await buildSceneVideo(join(data, 'scenes.mp4'), [
      { picture: 'automobile', seconds: 4, sound: DEMO_SOUND('drum-bass-drum') },
      { picture: 'dog', seconds: 4, sound: DEMO_SOUND('instrument-acoustic-grand-piano') },
    ]);
    ({ server, browser, page } = await openUiWith(video, ['--autoplay-policy=no-user-gesture-required']));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(data, { recursive: true, force: true });
  });

  test('"dog" shows the video at the dog: its frame as the thumbnail, playing from there', async () => {
    await page.selectOption('#modality', 'video');
    await page.fill('#query', 'dog');
    await page.press('#query', 'Enter');
    await page.waitForSelector('#results .result video');
    const first = '#results .result:first-child';
    const t = Number(await page.getAttribute(first, 'data-t'));
    assert.ok(t >= 4 && t < 8, `dog at ${t} s`);
    assert.match((await page.textContent(`${first} .name`)) ?? '', /^scenes\.mp4 @ 0:0[4-7]$/);
    // The player opened the video at the moment and has its frame to show.
    await page.waitForFunction(
      (selector) => {
        const video = document.querySelector(`${selector} video`) as HTMLVideoElement | null;
        return video !== null && video.readyState >= 2 && video.currentTime > 0;
      },
      first,
      { timeout: 30_000 },
    );
    const shown = await page.$eval(`${first} video`, (v) => (v as HTMLVideoElement).currentTime);
    assert.ok(Math.abs(shown - t) < 0.5, `the player is at ${shown} s, the moment at ${t} s`);
    await page.$eval(`${first} video`, (v) => (v as HTMLVideoElement).play());
    await page.waitForFunction(
      (selector) => {
        const video = document.querySelector(`${selector} video`) as HTMLVideoElement | null;
        return video !== null && !video.paused;
      },
      first,
      { timeout: 30_000 },
    );
    const playingFrom = await page.$eval(`${first} video`, (v) => (v as HTMLVideoElement).currentTime);
    assert.ok(playingFrom >= t - 0.5, `plays from ${playingFrom} s`);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, '.gitignore'), '*\n');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-video.png'), fullPage: true });
  });
});

describe('web UI: a moment of a long recording', {
  skip: NO_CHROMIUM || NO_FFMPEG || MINI_MISSING,
}, () => {
  const data = tempDir('xmodal-recording-');
  let browser: Browser;
  let server: RunningServer;
  let page: Page;

  before(async () => {
    // 11 minutes of quiet noise with a piano note at 7:00: over the 600 s a clip may last.
    const recording = join(data, 'field.ogg');
    buildLongRecording(recording, {
      seconds: 660,
      sound: DEMO_SOUND('instrument-acoustic-grand-piano'),
      at: 420,
    });
    ({ server, browser, page } = await openUiWith(recording));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(data, { recursive: true, force: true });
  });

  test('a hit in the recording is an audio player opened at its moment', async () => {
    await page.selectOption('#modality', 'audio');
    await page.fill('#query', 'piano');
    await page.press('#query', 'Enter');
    await page.waitForSelector('#results .result audio');
    const first = '#results .result:first-child';
    assert.equal(await page.$$eval(`${first} video`, (v) => v.length), 0, 'no video player for a recording');
    const t = Number(await page.getAttribute(first, 'data-t'));
    assert.match((await page.textContent(`${first} .name`)) ?? '', /^field\.ogg @ \d+:\d\d$/);
    await page.waitForFunction(
      (selector) => {
        const audio = document.querySelector(`${selector} audio`) as HTMLAudioElement | null;
        return audio !== null && audio.readyState >= 1 && audio.currentTime > 0;
      },
      first,
      { timeout: 30_000 },
    );
    const at = await page.$eval(`${first} audio`, (a) => (a as HTMLAudioElement).currentTime);
    assert.ok(Math.abs(at - t) < 0.5, `the player is at ${at} s, the moment at ${t} s`);
  });
});
