// The package as a user installs it (`npm run test:package`, run by .ci/run): pack, check what the tarball
// holds and weighs, install it into an empty project from the npm registry alone (onnxruntime-node's CUDA
// download switched off the consumer's way), compile TypeScript that uses it under `strict` with
// `moduleResolution` node16 and bundler, and run that: the README's Library example, word for word, and a
// server mounted from `xmodal/server`.
import assert from 'node:assert/strict';
import { type ExecFileSyncOptions, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/paths.js';

/** Packed tarball size limit: the shipped model is most of it. */
const MAX_PACKED_BYTES = 32 * 1024 * 1024;
/** Everything in the tarball lies under these (npm adds package.json itself); the demo's clips are `xmodal demo`'s. */
const ALLOWED = [
  /^dist\//,
  /^models\//,
  /^src\/ui\//,
  /^demo\/audio\/[^/]+\.ogg$/,
  /^README\.md$/,
  /^package\.json$/,
];
const TYPESCRIPT = '5.9.3';
const NODE_TYPES = '20.19.43';

const work = tempDir('xmodal-package-');
const consumer = join(work, 'consumer');
const keep = process.argv.includes('--keep');

function run(command: string, args: string[], options: ExecFileSyncOptions = {}): string {
  const started = Date.now();
  const out = execFileSync(command, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    ...options,
  });
  process.stderr.write(`  ${command} ${args.join(' ')}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return String(out);
}

/** The README's Library example: the ```ts block after the library-example marker. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const match = /<!-- library-example[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(match, 'README.md has no library-example block');
  const lines = match[1].trimEnd().split('\n');
  assert.ok(lines.length < 15, `the README example is ${lines.length} lines`);
  return match[1];
}

/** A consumer beyond the README: types of results and errors, the server subpath mounted on a bare http server. */
const SERVER_EXAMPLE = `import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { embed, type EmbedResult, XmodalError } from 'xmodal';
import { createHandler } from 'xmodal/server';

const result: EmbedResult = await embed(['a dog']);
if (result.dim !== result.embeddings[0].embedding.length) throw new Error('bad dim');
try {
  await embed([{ image: 'missing.png' }]);
  throw new Error('no error');
} catch (error) {
  if (!(error instanceof XmodalError) || error.code !== 'FILE_NOT_FOUND') throw error;
}
const handler = await createHandler({ prefix: '/xmodal', home: './xmodal-data' });
const server = createServer(handler);
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const base = \`http://127.0.0.1:\${(server.address() as AddressInfo).port}/xmodal\`;
const page = await fetch(\`\${base}/\`);
const script = await fetch(\`\${base}/ui/app.js\`);
const embeddings = await fetch(\`\${base}/v1/embeddings\`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ input: 'a dog' }),
});
const body = (await embeddings.json()) as { data: { embedding: number[] }[] };
console.log(\`server: page \${page.status}, ui \${script.status}, v1 \${embeddings.status} \${body.data[0].embedding.length}-d\`);
server.close();
await handler.close();
`;

function tsconfig(resolution: 'node16' | 'bundler', outDir: string) {
  return {
    compilerOptions: {
      strict: true,
      target: 'ES2022',
      module: resolution === 'node16' ? 'node16' : 'esnext',
      moduleResolution: resolution,
      outDir,
      types: ['node'],
      // Dependencies' own type files (transformers.js, onnxruntime) do not all check under every setting.
      skipLibCheck: true,
    },
    files: ['readme-example.ts', 'server-example.ts'],
  };
}

try {
  process.stderr.write('packing\n');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT })) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  const strays = packed.files.map((f) => f.path).filter((p) => !ALLOWED.some((a) => a.test(p)));
  assert.deepEqual(strays, [], 'files in the tarball outside dist, models, src/ui, demo/audio and README.md');
  for (const needed of ['dist/index.d.ts', 'dist/server/index.d.ts', 'dist/cli/main.js', 'src/ui/app.js'])
    assert.ok(
      packed.files.some((f) => f.path === needed),
      `${needed} missing from the tarball`,
    );
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  process.stderr.write(
    `tarball ${packed.filename}: ${mib(packed.size)} MiB packed (limit ${mib(MAX_PACKED_BYTES)}), ` +
      `${mib(packed.unpackedSize)} MiB unpacked, ${packed.files.length} files\n`,
  );
  assert.ok(packed.size <= MAX_PACKED_BYTES, `tarball ${packed.size} bytes is over ${MAX_PACKED_BYTES}`);

  mkdirSync(join(consumer, 'pictures'), { recursive: true });
  const tarball = join(work, packed.filename);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify(
      {
        name: 'consumer',
        private: true,
        type: 'module',
        // The consumer's switch for onnxruntime-node's CUDA download (the CPU library ships in the package).
        allowScripts: {
          'onnxruntime-node': false,
          protobufjs: false,
          'msgpackr-extract': false,
          'better-sqlite3': true,
          usearch: true,
          // npm lists a tarball's own `prepare` as a script to review (it never runs it for a tarball, nor
          // for a registry install): this entry exists only because the test installs from a file.
          [`file:${tarball}`]: false,
        },
      },
      null,
      2,
    ),
  );
  const env = { ...process.env };
  delete env.ONNXRUNTIME_NODE_INSTALL;
  delete env.npm_config_onnxruntime_node_install;
  process.stderr.write('installing the tarball into an empty project\n');
  run(
    'npm',
    [
      'install',
      // Every dependency's engines must hold for the consumer's Node too, not only inside this repository.
      '--engine-strict',
      '--strict-allow-scripts',
      '--no-audit',
      '--no-fund',
      tarball,
      `typescript@${TYPESCRIPT}`,
      `@types/node@${NODE_TYPES}`,
    ],
    { cwd: consumer, env },
  );

  for (const name of ['dog.png', 'cat.png', 'automobile.png', 'guitar.png'])
    copyFileSync(join(ROOT, 'test', 'ui', 'fixtures', name), join(consumer, 'pictures', name));
  writeFileSync(join(consumer, 'readme-example.ts'), readmeExample());
  writeFileSync(join(consumer, 'server-example.ts'), SERVER_EXAMPLE);
  const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const resolution of ['node16', 'bundler'] as const) {
    const out = `out-${resolution}`;
    writeFileSync(
      join(consumer, `tsconfig.${resolution}.json`),
      JSON.stringify(tsconfig(resolution, out), null, 2),
    );
    run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], { cwd: consumer });
    rmSync(join(consumer, 'xmodal-data'), { recursive: true, force: true });
    const readme = run(process.execPath, [join(out, 'readme-example.js')], { cwd: consumer });
    process.stderr.write(`${readme.trimEnd().replace(/^/gm, `  [${resolution}] `)}\n`);
    assert.match(readme, /^indexed 4 of 4 files$/m);
    assert.equal(readme.match(/pictures\/\S+\.png$/gm)?.length, 3, readme);
    assert.match(readme, /label: 'guitar'/);
    const server = run(process.execPath, [join(out, 'server-example.js')], { cwd: consumer });
    process.stderr.write(`${server.trimEnd().replace(/^/gm, `  [${resolution}] `)}\n`);
    assert.match(server, /^server: page 200, ui 200, v1 200 \d+-d$/m);
  }
  const installed = readdirSync(join(consumer, 'node_modules', 'xmodal'));
  process.stderr.write(`installed package holds: ${installed.sort().join(' ')}\n`);
  process.stderr.write('package check passed\n');
} finally {
  if (keep) process.stderr.write(`kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}
