import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encoderSuite } from '../helpers/encoder-suite.js';
import { TINY_CLIP, TINY_JINA_CLIP, TINY_SIGLIP } from '../helpers/paths.js';

/** Varied prose: words of several lengths, punctuation, runs of spaces and newlines. */
function prose(chars: number): string {
  const words = ['a', 'dog', 'runs', 'over', 'the', 'green', 'grass,', 'near', 'rivers.', 'Café', 'sky!'];
  let text = '';
  for (let i = 0; text.length < chars; i++) text += words[(i * 7) % words.length] + (i % 17 ? ' ' : '\n\n  ');
  return text;
}

// Models keep only their first tokens (77 for CLIP, up to 512 here); the rest of a long text must not change
// the vector, and must not be tokenized either (about 1 µs a character on the event loop).
for (const model of [TINY_CLIP, TINY_SIGLIP, TINY_JINA_CLIP]) {
  describe(`a very long text embeds as its first tokens: ${model.split('/').at(-1)}`, () => {
    const suite = encoderSuite(model);
    test('10 MB of text gives the vector of its first 20,000 characters', async () => {
      const long = prose(10_000_000);
      const [whole, prefix] = await suite.encoder.embedText([long, long.slice(0, 20_000)]);
      assert.deepEqual(Array.from(whole), Array.from(prefix));
    });
  });
}
