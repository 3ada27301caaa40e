// A large text indexed through the server must not stop it answering: its thousands of chunks are written in
// slices with turns between, so /health keeps answering while they go in. The server runs in its own process,
// so a blocked event loop there shows as a late answer here.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { TINY_CLIP, tempDir } from '../helpers/paths.js';
import type { ChildServer } from '../servers/child-server.js';

/** Hang guard per /health answer: an answer held up this long means the event loop was blocked. */
const HEALTH_MS = 2_000;
const WORDS = 'the quick brown fox jumps over a lazy dog while seven ducks sing near an old river bank'.split(
  ' ',
);

/** About `bytes` of text in short paragraphs (a chunk each): many chunks per megabyte. */
function shortParagraphs(bytes: number): { text: string; paragraphs: number } {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const words = Array.from({ length: 12 }, (_, w) => WORDS[(i * 7 + w * 3) % WORDS.length]);
    const paragraph = `${i} ${words.join(' ')}.\n\n`;
    parts.push(paragraph);
    length += paragraph.length;
  }
  return { text: parts.join(''), paragraphs: parts.length };
}

describe('a multi-megabyte text indexed through the server', () => {
  const home = tempDir('xmodal-large-');
  let server: ChildServer;
  let base: string;
  before(async () => {
    server = await startCli(
      ['--home', home, 'serve', '--port', '0', '--model', TINY_CLIP],
      /serving .* on (http:\/\/127\.0\.0\.1:\d+)/,
    );
    base = server.ready[1];
  });
  after(async () => {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test('every /health answer arrives while its chunks are written', async () => {
    const { text, paragraphs } = shortParagraphs(2 * 1024 * 1024);
    const form = new FormData();
    form.append('file', new Blob([text]), 'big.txt');
    let done = false;
    const indexed = fetch(`${base}/collections/big/index`, { method: 'POST', body: form })
      .then(async (response) => ({ status: response.status, body: await response.json() }))
      .finally(() => {
        done = true;
      });
    const waits: number[] = [];
    while (!done) {
      const asked = performance.now();
      const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(60_000) });
      assert.equal(health.status, 200);
      await health.arrayBuffer();
      waits.push(performance.now() - asked);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const result = await indexed;
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.equal(result.body.items, paragraphs, 'one item per paragraph');
    assert.ok(waits.length >= 3, `polled /health ${waits.length} times during the run`);
    const worst = Math.max(...waits);
    assert.ok(
      worst < HEALTH_MS,
      `a /health answer took ${worst.toFixed(0)} ms while ${paragraphs} chunks went in`,
    );
  });
});
