import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadEncoder } from '../../src/encoders/load.js';
import { MINI, MINI_MISSING } from '../helpers/mini.js';
import { FIXTURES } from '../helpers/paths.js';

/** The cores each thread of this process may run on, from /proc (Linux). */
function allowedCoresPerThread(): Map<string, string> {
  const cores = new Map<string, string>();
  for (const thread of readdirSync('/proc/self/task')) {
    const status = readFileSync(`/proc/self/task/${thread}/status`, 'utf8');
    cores.set(thread, /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '?');
  }
  return cores;
}

const SKIP =
  MINI_MISSING ||
  (!existsSync('/proc/self/task') && 'threads are read from /proc (Linux)') ||
  (availableParallelism() < 2 && 'one core: every thread may only run on it anyway');

// Reproduces: the audio feature worker's tensor-op sessions (made by transformers.js with onnxruntime's
// defaults) started a pool thread pinned to core 1, so a worker held to one thread still spun on a second core,
// and every worker on the machine piled onto that core (bench/scale.ts: 1.48 cores per worker, 1.16x for two).
test('an encoder held to one thread starts no thread pinned to a core of its own', {
  skip: SKIP,
}, async () => {
  const processCores = allowedCoresPerThread().get(String(process.pid));
  const encoder = await loadEncoder(MINI, { threads: 1, audioWorkers: 1, offline: true });
  try {
    await encoder.embed('text', ['a dog barking']);
    await encoder.embed('image', [readFileSync(join(FIXTURES, 'images', 'photo.png'))]);
    await encoder.embed('audio', [readFileSync(join(FIXTURES, 'audio', 'sine-s16.wav'))]);
    const pinned = [...allowedCoresPerThread()].filter(([, cores]) => cores !== processCores);
    assert.deepEqual(pinned, [], `threads allowed fewer cores than the main thread (${processCores})`);
  } finally {
    await encoder.dispose();
  }
});
