/**
 * The HTTP server under load: 32 concurrent clients on POST /v1/embeddings (autocannon), in one run
 *   unbatched — every request its own model call (`serve --no-batching`);
 *   batched   — dynamic micro-batching (the default);
 * each with the two wire formats clients ask for: `encoding_format: "base64"`, what the official openai SDK sends
 * unless told otherwise (it decodes the floats itself), and `"float"` (JSON numbers, what curl users get by
 * default). All four measured in alternating rounds, then a soak on the batched server (base64), reading its RSS
 * from /metrics before and after. The RESULT line is the SDK's format; the float speedup is printed above it.
 * Usage: npx tsx bench/serve.ts [--quick] [--model PATH] [--seconds N] [--soak-seconds N]
 * Default model: models/xmodal-mini when it exists, else a CLIP ViT-B/32-sized text tower with random weights
 * built once with Debian's python3-torch into bench/.models/clip-b32-text (not committed).
 * Last line: RESULT serve batching_speedup=<x> p99_ms=<x> rss_growth_mb=<x>
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { flag, quick, ROOT } from './flags.js';
import { type ServeProcess, startServeProcess, stopServeProcess } from './serve-process.js';

const CONNECTIONS = 32;
const SECONDS = Number(flag('--seconds') ?? (quick ? 16 : 60));
const SOAK_SECONDS = Number(flag('--soak-seconds') ?? (quick ? 20 : 300));
const WARMUP_SECONDS = 5;
const ROUNDS = quick ? 2 : 3;
const BENCH_MODEL = join(ROOT, 'bench', '.models', 'clip-b32-text');

function ensureBenchModel(): string {
  const shipped = join(ROOT, 'models', 'xmodal-mini');
  if (existsSync(shipped)) return shipped;
  if (existsSync(join(BENCH_MODEL, 'onnx', 'text_model.onnx'))) return BENCH_MODEL;
  console.log('building a ViT-B/32-sized CLIP text tower (once) ...');
  const script = [
    'import sys',
    `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'test', 'fixtures'))})`,
    'import build_models as b',
    `b.build_clip(${JSON.stringify(BENCH_MODEL)}, text=dict(width=512, layers=12, heads=8, mlp=2048),`,
    '  vision=dict(image=32, patch=16, width=32, layers=1, heads=2, mlp=64), proj=512, seed=7, flavours=())',
  ].join('\n');
  execFileSync('/usr/bin/python3', ['-c', script], { stdio: 'inherit' });
  return BENCH_MODEL;
}

type Server = ServeProcess;

const startServer = (model: string, batching: boolean) =>
  startServeProcess(model, batching ? [] : ['--no-batching']);
const stopServer = stopServeProcess;

async function rssMb(server: Server): Promise<number> {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)![1]) / 1024 / 1024;
}

const WORDS =
  'dog cat bird guitar piano car train rain thunder city forest beach night red blue small large'.split(' ');

/** Different short sentences per request, like real traffic (and no cache to hit). */
function sentence(n: number): string {
  const pick = (k: number) => WORDS[(n * 7 + k * 13) % WORDS.length];
  return `a photo of a ${pick(1)} ${pick(2)} near the ${pick(3)} number ${n}`;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

type WireFormat = 'base64' | 'float';
const FORMATS: WireFormat[] = ['base64', 'float'];

async function load(server: Server, seconds: number, format: WireFormat): Promise<Load> {
  let n = 0;
  const result = await autocannon({
    url: `${server.base}/v1/embeddings`,
    connections: CONNECTIONS,
    duration: seconds,
    // Clients wait as long as it takes: throughput, not give-ups, is what is compared.
    timeout: 120,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ input: sentence(n++), encoding_format: format }),
        }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    requests: result.requests.total,
  };
}

/** One request answered after everything queued before it: the server is idle again (and its towers loaded). */
async function drain(server: Server): Promise<void> {
  const response = await fetch(`${server.base}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: 'warm up' }),
  });
  if (!response.ok) throw new Error(`server answered ${response.status}: ${await response.text()}`);
}

/** Loads the model, warms the routes and queues up, then waits for the leftovers autocannon walked away from. */
async function warmUp(server: Server): Promise<void> {
  await drain(server);
  for (const format of FORMATS) await load(server, WARMUP_SECONDS, format);
  await drain(server);
}

/** Rounds as one run: total throughput, the median p50 and the worst p99. */
function combine(runs: Load[]): Load {
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const p50s = runs.map((r) => r.p50).sort((a, b) => a - b);
  return {
    rps: runs.reduce((n, r) => n + r.rps, 0) / runs.length,
    p50: p50s[Math.floor(p50s.length / 2)],
    p99: Math.max(...runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    requests,
  };
}

function show(name: string, r: Load): void {
  console.log(
    `${name.padEnd(17)} ${r.rps.toFixed(1).padStart(8)} req/s  p50 ${String(r.p50).padStart(5)} ms  p99 ${String(r.p99).padStart(5)} ms  (${r.requests} requests, ${r.errors} errors)`,
  );
}

const model = flag('--model') ?? ensureBenchModel();
console.log(
  `model ${model}; ${CONNECTIONS} clients; ${SECONDS} s per mode and format; soak ${SOAK_SECONDS} s`,
);

// Both servers up at once, measured in alternating rounds, so a busy neighbour on a shared box slows both alike.
const unbatchedServer = await startServer(model, false);
const batchedServer = await startServer(model, true);
await warmUp(unbatchedServer);
await warmUp(batchedServer);
const rounds = new Map<string, Load[]>();
const measure = async (server: Server, name: string, format: WireFormat) => {
  const key = `${format} ${name}`;
  rounds.set(key, [...(rounds.get(key) ?? []), await load(server, SECONDS / ROUNDS, format)]);
  await drain(server);
};
for (let round = 0; round < ROUNDS; round++) {
  for (const format of FORMATS) {
    await measure(unbatchedServer, 'unbatched', format);
    await measure(batchedServer, 'batched', format);
  }
}
await stopServer(unbatchedServer);
const results = new Map([...rounds].map(([key, runs]) => [key, combine(runs)]));
for (const [key, result] of results) show(key, result);
const speedup = (format: WireFormat) =>
  results.get(`${format} batched`)!.rps / results.get(`${format} unbatched`)!.rps;
for (const format of FORMATS) console.log(`${format} batching speedup ${speedup(format).toFixed(2)}x`);
const batched = results.get('base64 batched')!;

const before = await rssMb(batchedServer);
const soak = await load(batchedServer, SOAK_SECONDS, 'base64');
await drain(batchedServer);
const afterSoak = await rssMb(batchedServer);
show('soak', soak);
console.log(`rss before soak ${before.toFixed(1)} MB, after ${afterSoak.toFixed(1)} MB`);
await stopServer(batchedServer);

if ([...results.values(), soak].some((r) => r.errors > 0)) console.log('WARNING: some requests failed');
console.log(
  `RESULT serve batching_speedup=${speedup('base64').toFixed(2)} p99_ms=${batched.p99} rss_growth_mb=${(afterSoak - before).toFixed(1)}`,
);
