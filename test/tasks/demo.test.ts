import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { basename } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Collection, openDemoCollection, type SearchResult } from '../../src/library/collection.js';
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

  // Not met yet (xmodal-mini v3: the seashore first, as v2; v1 the cowbell): the drums learn "drum" as a second
  // label in training, yet the held-out soundfont's single hits do not come near the word. Kept as a todo so that
  // it shows in every run and turns into a plain test once it holds.
  const notYet = 'not met by xmodal-mini v3 (see its card, "Known limits")';
  test('"drum" [audio] finds a drum of the drum kit first, clearly ahead of every other sound', {
    todo: notYet,
  }, async () => {
    const hits = await search('drum', 'audio');
    const isDrum = (h: SearchResult) => /^drum-.*(drum|snare)/.test(basename(h.id));
    assert.ok(isDrum(hits[0]), names(hits));
    const bestOther = hits.find((h) => !basename(h.id).startsWith('drum-'));
    assert.ok(bestOther && hits[0].score > bestOther.score + 0.05, names(hits));
  });

  test('"piano" [audio] finds the piano first', async () => {
    const hits = await search('piano', 'audio');
    assert.equal(basename(hits[0].id), 'instrument-acoustic-grand-piano.ogg', names(hits));
  });

  test('"a dog" [image] puts the dog emoji in the top 3', { todo: notYet }, async () => {
    const hits = await search('a dog', 'image');
    assert.ok(
      hits.slice(0, 3).some((h) => basename(h.id) === 'dog.png'),
      names(hits),
    );
  });
});
