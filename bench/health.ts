/**
 * Does one big request starve the others? /health is polled (one request every 20 ms) while the server, in its
 * own process, takes in turn:
 *   long-texts  — POST /v1/embeddings with as many 100,000-character texts (the per-text limit) as fit the
 *                 32 MiB body limit;
 *   text-upload — a 20 MB text file uploaded to POST /collections/:name/index (chunked and embedded);
 *   oversize    — a single 10 MB text to /v1/embeddings (refused, 413).
 * Baseline: the same polling against the idle server, in the same run. Prints each scenario's worst and median
 * /health latency and the worst as a ratio of the idle worst.
 * Usage: npx tsx bench/health.ts [--quick] [--model PATH]   (default model: models/xmodal-mini)
 * Last line: RESULT health long_texts_max_ms=<x> text_upload_max_ms=<x> oversize_max_ms=<x> idle_max_ms=<x>
 */
import { join } from 'node:path';
import { flag, quick, ROOT } from './flags.js';
import { startServeProcess, stopServeProcess } from './serve-process.js';

const MODEL = flag('--model') ?? join(ROOT, 'models', 'xmodal-mini');
const UPLOAD_MB = quick ? 4 : 20;
const TEXTS = quick ? 60 : 300;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** /health latencies, in ms, polled until `work` settles (or for `idleMs` when there is no work). */
async function pollHealth(base: string, work: Promise<unknown>): Promise<number[]> {
  let done = false;
  work.finally(() => {
    done = true;
  });
  const latencies: number[] = [];
  while (!done) {
    const started = performance.now();
    await (await fetch(`${base}/health`)).text();
    latencies.push(performance.now() - started);
    await sleep(20);
  }
  return latencies;
}

const WORDS = 'a dog runs on the green grass near the river under a blue sky while birds sing'.split(' ');
function prose(chars: number, seed: number): string {
  const parts: string[] = [];
  let length = 0;
  for (let i = seed; length < chars; i++) {
    const word = WORDS[(i * 7) % WORDS.length] + (i % 11 === 0 ? '. ' : ' ') + (i % 300 === 0 ? '\n\n' : '');
    parts.push(word);
    length += word.length;
  }
  return parts.join('').slice(0, chars);
}

async function post(base: string, path: string, body: string | FormData): Promise<number> {
  const headers = typeof body === 'string' ? { 'content-type': 'application/json' } : undefined;
  const response = await fetch(base + path, { method: 'POST', body, headers });
  await response.text();
  return response.status;
}

function summary(name: string, latencies: number[], idleMax: number, status?: number) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const max = sorted.at(-1) ?? 0;
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  console.log(
    `${name.padEnd(12)} status=${status ?? '-'} polls=${sorted.length} median=${median.toFixed(1)} ms ` +
      `max=${max.toFixed(1)} ms (${(max / idleMax).toFixed(1)}x idle max)`,
  );
  return max;
}

const server = await startServeProcess(MODEL);
try {
  await post(server.base, '/embed/text', JSON.stringify({ text: 'warm up' }));
  const idle = await pollHealth(server.base, sleep(3000));
  const idleMax = Math.max(...idle);
  summary('idle', idle, idleMax);

  const texts = Array.from({ length: TEXTS }, (_, i) => prose(100_000, i));
  let status = 0;
  const longTexts = await pollHealth(
    server.base,
    post(server.base, '/v1/embeddings', JSON.stringify({ input: texts })).then((s) => {
      status = s;
    }),
  );
  const longMax = summary('long-texts', longTexts, idleMax, status);

  const form = new FormData();
  form.append('file', new Blob([prose(UPLOAD_MB * 1_000_000, 1)]), 'book.txt');
  const upload = await pollHealth(
    server.base,
    post(server.base, '/collections/bench/index', form).then((s) => {
      status = s;
    }),
  );
  const uploadMax = summary('text-upload', upload, idleMax, status);

  const oversize = await pollHealth(
    server.base,
    post(server.base, '/v1/embeddings', JSON.stringify({ input: prose(10_000_000, 2) })).then((s) => {
      status = s;
    }),
  );
  const oversizeMax = summary('oversize', oversize, idleMax, status);
  console.log(
    `RESULT health long_texts_max_ms=${longMax.toFixed(0)} text_upload_max_ms=${uploadMax.toFixed(0)} ` +
      `oversize_max_ms=${oversizeMax.toFixed(0)} idle_max_ms=${idleMax.toFixed(0)}`,
  );
} finally {
  await stopServeProcess(server);
}
