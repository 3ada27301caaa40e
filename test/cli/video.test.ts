import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSceneVideo } from '../../src/tasks/demo.js';
import { openCollection } from '../../src/tasks/workspace.js';
import { cliChild, errorLines, runCli } from '../helpers/cli.js';
import { MINI_MISSING } from '../helpers/mini.js';
import { IMAGES, tempDir } from '../helpers/paths.js';
import { DEMO_SOUND, NO_FFMPEG } from '../helpers/video.js';

/** Ids of a collection's items from one file. */
async function idsOf(home: string, collection: string, uri: string): Promise<string[]> {
  const open = await openCollection({ home }, collection);
  try {
    const ids: string[] = [];
    for await (const item of open.store.iterate({ filter: { uriPrefix: uri } })) ids.push(item.id);
    return ids.sort();
  } finally {
    await open.close();
  }
}

/** Child processes of `pid` running `name` (from /proc). */
function childrenNamed(pid: number, name: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && comm === name) found.push(Number(entry));
    } catch {}
  }
  return found;
}

describe('xmodal index / search with videos', { skip: NO_FFMPEG || MINI_MISSING }, () => {
  const home = tempDir();
  const data = tempDir('xmodal-video-');
  const video = join(data, 'scenes.mp4');

  before(async () => {
    await buildSceneVideo(video, [
      { picture: 'dog', seconds: 4, sound: DEMO_SOUND('drum-bass-drum') },
      { picture: 'automobile', seconds: 4, sound: DEMO_SOUND('instrument-acoustic-grand-piano') },
    ]);
    copyFileSync(join(IMAGES, 'photo.png'), join(data, 'photo.png'));
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  test('without ffmpeg on PATH, videos are skipped with the install hint, the rest indexed, exit 3', async () => {
    const bare = tempDir('xmodal-no-ffmpeg-');
    try {
      const result = await runCli(['--home', bare, 'index', data], { PATH: bare });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stdout, /indexed 1, unchanged 0, failed 0, skipped 1, pruned 0 of 2 files/);
      assert.deepEqual(errorLines(result), [
        `skipped: ${video}: video needs ffmpeg: install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) so that ffmpeg and ffprobe are on PATH`,
      ]);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test('search prints a video hit as file @ time; --json hits carry t', async () => {
    const indexed = await runCli(['--home', home, 'index', data]);
    assert.equal(indexed.code, 0, indexed.stderr);
    const text = await runCli(['--home', home, 'search', 'car', '--modality', 'video']);
    assert.equal(text.code, 0, text.stderr);
    const first = text.stdout.split('\n')[0];
    assert.match(first, /^ {2}1 {2}\d\.\d{4} {2}video {2}.*scenes\.mp4 @ 0:0[4-7] {2}\(seen\)$/);
    const json = await runCli(['--home', home, 'search', 'dog', '--json', '-k', '3']);
    const { results } = JSON.parse(json.stdout);
    const moment = results.find((r: { uri: string }) => r.uri === video);
    assert.ok(moment.t >= 0 && moment.t < 4, `dog at ${moment.t}`);
    assert.ok(moment.start <= moment.t && moment.end > moment.t);
    const photo = results.find((r: { uri: string }) => r.uri !== video);
    assert.equal(photo?.t, undefined, 'a picture has no time');
  });

  test('a run killed with SIGKILL in the middle of a video leaves none of it; the next run indexes it whole', async () => {
    const long = tempDir('xmodal-long-');
    const longVideo = join(long, 'long.mp4');
    try {
      await buildSceneVideo(
        longVideo,
        ['dog', 'automobile', 'red-apple', 'house', 'sun'].map((picture) => ({
          picture,
          seconds: 6,
          sound: DEMO_SOUND('instrument-violin'),
        })),
        { size: 640, fps: 25 },
      );
      const reference = await runCli(['--home', home, 'index', long, '--collection', 'reference']);
      assert.equal(reference.code, 0, reference.stderr);
      const whole = await idsOf(home, 'reference', longVideo);
      assert.ok(whole.length > 20, `${whole.length} items`);

      const child = cliChild(['--home', home, 'index', long, '--collection', 'killed'], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // Mid-video: once it runs ffmpeg on the video.
      while (childrenNamed(child.pid!, 'ffmpeg').length === 0 && child.exitCode === null) await sleep(20);
      assert.equal(child.exitCode, null, 'the run was still going');
      child.kill('SIGKILL');
      await exited;
      const left = await idsOf(home, 'killed', longVideo);
      assert.ok(
        left.length === 0 || left.length === whole.length,
        `${left.length} of ${whole.length} items left`,
      );

      const rerun = await runCli(['--home', home, 'index', long, '--collection', 'killed']);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.deepEqual(await idsOf(home, 'killed', longVideo), whole);
    } finally {
      rmSync(long, { recursive: true, force: true });
    }
  });
});
