import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkText, chunkTextInTurns } from '../../src/tasks/text-chunks.js';

/** Prose of about `chars` characters: sentences, headings and paragraphs separated by `blank`. */
function prose(chars: number, blank: string): string {
  const words = ['dog', 'grass', 'river', 'a', 'the', 'runs', 'near', 'over', 'blue', 'sky'];
  const parts: string[] = [];
  let length = 0;
  for (let i = 1; length < chars; i++) {
    const word =
      i % 997 === 0 ? `\n# Heading ${i}` : i % 2003 === 0 ? 'x'.repeat(1500) : words[i % words.length];
    const part = word + (i % 13 === 0 ? '. ' : ' ') + (i % 300 === 0 ? blank : '');
    parts.push(part);
    length += part.length;
  }
  return parts.join('');
}

test('paragraphs, headings, short fragments and long sentences make the chunks', () => {
  const chunks = chunkText(
    '# Title\n\nA first paragraph about dogs.\n\nok\n\nA second one, about cats and more.',
  );
  assert.deepEqual(chunks, [
    '# Title\nA first paragraph about dogs.',
    'ok\nA second one, about cats and more.',
  ]);
  const long = chunkText(`${'word '.repeat(500)}.`, { maxChars: 1000 });
  assert.ok(long.every((c) => c.length <= 1000));
  assert.equal(long.join(' ').replace(/\s+/g, ' '), `${'word '.repeat(500)}.`.replace(/\s+/g, ' ').trim());
});

for (const [name, blank] of [
  ['LF', '\n\n'],
  ['CRLF', '\r\n\r\n'],
  ['CR', '\r\r'],
  ['blank lines with spaces', '\n \t\n'],
] as const) {
  test(`a large text (${name} blank lines) chunks the same in turns, and other work runs meanwhile`, async () => {
    const text = prose(3_000_000, blank);
    const whole = chunkText(text);
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    const inTurns = await chunkTextInTurns(text);
    clearInterval(timer);
    assert.deepEqual(inTurns, whole);
    assert.ok(whole.length > 1000);
    assert.ok(turns > 0, 'a timer ran while the text was chunked');
  });
}
