import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Modality } from '../../src/encoders/encoder.js';
import type { SearchHit } from '../../src/store/store.js';
import { ingest } from '../../src/tasks/ingest.js';
import { type QueryPart, searchCollection } from '../../src/tasks/search.js';
import { type OpenCollection, openCollection } from '../../src/tasks/workspace.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { renderOpenMoji } from '../helpers/openmoji.js';
import { ROOT, tempDir } from '../helpers/paths.js';

const EMOJI = ['dog', 'automobile', 'red-apple', 'house', 'bicycle', 'pizza'];
const EMOJI_ALL = [...EMOJI, 'guitar'];
const CLIPS = [
  'instrument-acoustic-grand-piano',
  'drum-acoustic-snare',
  'instrument-violin',
  'instrument-trumpet',
  'speech-dog',
  'speech-car',
];
// Short captions, one file each: the model knows names and short phrases, not long sentences (see its card).
const CAPTIONS: Record<string, string> = {
  dog: 'a dog',
  car: 'a car',
  piano: 'piano music',
  drum: 'a drum',
  apple: 'an apple',
};

/** Cross-modal search with the shipped model, on held-out media (OpenMoji, TimGM6mb, an unseen voice). */
describe('search with xmodal-mini (meaning)', { skip: MINI_MISSING }, () => {
  const home = tempDir();
  const data = tempDir('xmodal-meaning-');
  let collection: OpenCollection;
  const file = (name: string) => join(data, name);

  before(async () => {
    for (const name of EMOJI_ALL) await renderOpenMoji(name, data);
    for (const clip of CLIPS) copyFileSync(join(ROOT, 'demo', 'audio', `${clip}.ogg`), file(`${clip}.ogg`));
    for (const [name, text] of Object.entries(CAPTIONS)) writeFileSync(file(`${name}.txt`), text);
    collection = await openCollection({ home }, 'default', { model: MINI, create: true });
    const report = await ingest(collection, { paths: [data] });
    assert.equal(report.failed.length, 0, JSON.stringify(report.failed));
  });
  after(async () => {
    await collection?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  });

  const search = (part: QueryPart, modality: Modality) =>
    searchCollection(collection, { parts: [part], k: 20, filter: { modality } });
  const rankOf = (hits: SearchHit[], id: string) => hits.findIndex((h) => h.id === id) + 1;
  const scoreOf = (hits: SearchHit[], id: string) => hits.find((h) => h.id === id)?.score ?? Number.NaN;

  test('text → image: "a dog" finds the dog emoji first, clearly ahead of the car', async () => {
    const hits = await search({ kind: 'text', value: 'a dog' }, 'image');
    assert.equal(hits[0].id, file('dog.png'), hits.map((h) => h.id).join(', '));
    assert.ok(scoreOf(hits, file('dog.png')) - scoreOf(hits, file('automobile.png')) > 0.05);
  });

  // v1 put the guitar, the bicycle and the cat first for three of these: filler words pulled the mean of the
  // subword embeddings away from the name. v2's text tower learnt to let them pass (training/train_prompts.py).
  test('text → image: a name inside a description ("a cartoon car on a white background") still finds its picture', async () => {
    const described = {
      'a cute little dog sitting on a white background': 'dog',
      'a cartoon car on a white background': 'automobile',
      'a realistic bicycle': 'bicycle',
      'a big pizza on a white background': 'pizza',
    };
    for (const [query, name] of Object.entries(described)) {
      const hits = await search({ kind: 'text', value: query }, 'image');
      const margin = scoreOf(hits, file(`${name}.png`)) - hits[1].score;
      assert.equal(hits[0].id, file(`${name}.png`), `${query}: ${hits.map((h) => h.id).join(', ')}`);
      assert.ok(margin > 0.01, `${query}: ${name} ahead by only ${margin.toFixed(3)}`);
    }
  });

  const caption = (name: string) => `${file(`${name}.txt`)}#0`;

  test('image → text: the car and dog emoji find their own captions first', async () => {
    assert.equal(
      (await search({ kind: 'image', value: file('automobile.png') }, 'text'))[0].id,
      caption('car'),
    );
    assert.equal((await search({ kind: 'image', value: file('dog.png') }, 'text'))[0].id, caption('dog'));
  });

  test('text → audio: "piano" finds the piano clip first and every melodic instrument before speech', async () => {
    const hits = await search({ kind: 'text', value: 'piano' }, 'audio');
    assert.equal(hits[0].id, file('instrument-acoustic-grand-piano.ogg'), hits.map((h) => h.id).join(', '));
    // The snare is left out: the word "piano" is no nearer a drum hit than a spoken word, and need not be.
    const worstInstrument = Math.max(
      ...CLIPS.filter((c) => c.startsWith('instrument')).map((c) => rankOf(hits, file(`${c}.ogg`))),
    );
    const bestSpeech = Math.min(rankOf(hits, file('speech-dog.ogg')), rankOf(hits, file('speech-car.ogg')));
    assert.ok(worstInstrument < bestSpeech, hits.map((h) => h.id).join(', '));
  });

  test('audio → text: the piano clip finds "piano music"', async () => {
    // Spoken words are tested on the held-out renders (classify.test.ts) and the demo's own clips
    // (encoders/audio-clips.test.ts).
    const piano = await search({ kind: 'audio', value: file('instrument-acoustic-grand-piano.ogg') }, 'text');
    assert.equal(piano[0].id, caption('piano'));
  });

  test('image → image: another dog drawing finds the dog first', async () => {
    const query = await renderOpenMoji('dog-face', tempDir());
    const hits = await search({ kind: 'image', value: query }, 'image');
    assert.equal(hits[0].id, file('dog.png'), hits.map((h) => h.id).join(', '));
  });

  test('audio → image (emergent, no audio–image pairs in training): instrument clips find the one instrument picture', async () => {
    // Every instrument clip of the demo set (sound effects left out) against the seven pictures, one of
    // them a guitar: weak and emergent, so judged over 25 clips rather than on a chosen few.
    const demo = join(ROOT, 'demo', 'audio');
    const clips = readdirSync(demo).filter(
      (f) => f.startsWith('instrument-') && !/applause|bird|seashore|telephone/.test(f),
    );
    const ranks: number[] = [];
    for (const clip of clips) {
      const hits = await search({ kind: 'audio', value: join(demo, clip) }, 'image');
      ranks.push(rankOf(hits, file('guitar.png')));
    }
    const first = ranks.filter((r) => r === 1).length;
    const meanRank = ranks.reduce((a, b) => a + b, 0) / ranks.length;
    console.log(
      `# guitar picture first for ${first} of ${ranks.length} clips; mean rank ${meanRank.toFixed(2)} of 7`,
    );
    // Chance: first for 1 clip in 7, mean rank 4.
    assert.ok(first >= ranks.length / 3, `first for ${first} of ${ranks.length}: ${ranks.join(' ')}`);
    assert.ok(meanRank <= 2.5, `mean rank ${meanRank}: ${ranks.join(' ')}`);
  });
});
