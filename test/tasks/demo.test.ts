import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Collection, openDemoCollection, type SearchResult } from '../../src/library/collection.js';
import { DEMO_AUDIO_DIR } from '../../src/tasks/demo.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { tempDir } from '../helpers/paths.js';

/** What `npm start` shows a new user: its example searches over the demo collection it builds. */
describe("npm start's demo collection with xmodal-mini", { skip: MINI_MISSING }, () => {
  const home = tempDir('xmodal-demo-');
  let collection: Collection;
  before(async () => {
    collection = await openDemoCollection({ home, model: MINI });
  });
  after(async () => {
    await collection?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const search = async (text: string, modality: 'image' | 'audio') =>
    (await collection.search({ text, k: 10, modality })).results;
  const names = (hits: SearchResult[]) =>
    hits.map((h) => `${basename(h.id)} ${h.score.toFixed(3)}`).join(', ');

  test('"drum" [audio] finds a drum of the drum kit first, clearly ahead of every other sound', async () => {
    const hits = await search('drum', 'audio');
    const isDrum = (h: SearchResult) => /^drum-.*(drum|snare)/.test(basename(h.id));
    assert.ok(isDrum(hits[0]), names(hits));
    const bestOther = hits.find((h) => !basename(h.id).startsWith('drum-'));
    assert.ok(bestOther && hits[0].score > bestOther.score + 0.05, names(hits));
  });

  // The demo's instruments and drum-kit sounds are single notes and hits of a soundfont training never heard,
  // trimmed tight (demo/build_demo_audio.py). v3 found 7 of the 37 among the top 3 of the 57 clips; v4 learnt
  // program names beside families and one-shot sample files, and finds 20.
  test('each instrument and drum-kit name finds its clip among the top 3 of all the sounds, for most names', async () => {
    const manifest = JSON.parse(readFileSync(join(DEMO_AUDIO_DIR, 'manifest.json'), 'utf8')) as {
      clips: { file: string; label: string; kind: string }[];
    };
    const named = manifest.clips.filter((clip) => clip.kind !== 'speech');
    const misses: string[] = [];
    for (const clip of named) {
      const hits = (await collection.search({ text: clip.label, k: 3, modality: 'audio' })).results;
      if (!hits.some((h) => basename(h.id) === clip.file)) misses.push(`${clip.label}: ${names(hits)}`);
    }
    assert.ok(
      named.length - misses.length >= 15,
      `${named.length - misses.length} of ${named.length}; missed ${misses.join(' | ')}`,
    );
  });

  test('"piano" [audio] finds the piano first', async () => {
    const hits = await search('piano', 'audio');
    assert.equal(basename(hits[0].id), 'instrument-acoustic-grand-piano.ogg', names(hits));
  });

  // Not met yet (xmodal-mini v4's image tower is v1's): kept as a todo so that it shows in every run and turns into
  // a plain test once it holds.
  test('"a dog" [image] puts the dog emoji in the top 3', {
    todo: 'not met by xmodal-mini v4 (see its card, "Known limits")',
  }, async () => {
    const hits = await search('a dog', 'image');
    assert.ok(
      hits.slice(0, 3).some((h) => basename(h.id) === 'dog.png'),
      names(hits),
    );
  });
});
