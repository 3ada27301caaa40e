import { type Command, Option } from 'commander';
import { DEFAULT_COLLECTION } from '../tasks/workspace.js';
import { err } from './io.js';
import { type ModelFlags, parseDtype, whole } from './shared.js';
import { workspaceOf } from './workspace-flags.js';

interface ServeFlags extends ModelFlags {
  port: string;
  host: string;
  collection: string;
  batching: boolean;
  maxBatch: string;
  batchWaitMs: string;
  cors?: string[];
  indexRoot?: string[];
  maxPixels?: string;
  maxUploadMb?: string;
  log?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerServe(program: Command, withModelFlags: (c: Command) => Command): void {
  withModelFlags(
    program
      .command('serve')
      .description('serve the HTTP API, the OpenAI-compatible /v1/embeddings and the web UI')
      .option('-p, --port <port>', 'port (0 picks a free one)', '7700')
      .option('--host <host>', 'interface to listen on', '127.0.0.1')
      .option('-c, --collection <name>', 'collection used when a request names none', DEFAULT_COLLECTION)
      .option('--no-batching', 'run every request on its own instead of micro-batching concurrent ones')
      .option('--max-batch <n>', 'most inputs per micro-batch', '32')
      .option('--batch-wait-ms <ms>', 'how long a micro-batch waits for company', '4')
      .option('--cors <origin>', 'allow this browser origin (repeatable; CORS is off by default)', collect)
      .option(
        '--index-root <dir>',
        'a server folder POST /collections/:name/index may read (repeatable)',
        collect,
      )
      .option('--max-pixels <n>', 'largest image accepted, in pixels')
      .option('--max-upload-mb <n>', 'largest request: a JSON body or a whole upload, in MiB')
      .option('--log', 'log every request as JSON lines on stdout'),
  )
    .addOption(new Option('--api-key <key>', 'require this bearer key').env('XMODAL_API_KEY').hideHelp())
    .action(async (flags: ServeFlags & { apiKey?: string }, command: Command) => {
      const uploadBytes = flags.maxUploadMb
        ? whole('--max-upload-mb', flags.maxUploadMb, 1, 4096) * 1024 * 1024
        : undefined;
      const port = whole('--port', flags.port, 0, 65535);
      // Loaded here, not at start-up: the server's modules would slow every other command.
      const { buildApp } = await import('../server/app.js');
      const { listenUntilStopped } = await import('../server/listen.js');
      const app = await buildApp({
        workspace: workspaceOf(command),
        collection: flags.collection,
        model: flags.model,
        encoderOptions: { dtype: parseDtype(flags.dtype), offline: flags.offline, cacheDir: flags.cacheDir },
        apiKey: flags.apiKey,
        batching: flags.batching
          ? {
              maxBatch: whole('--max-batch', flags.maxBatch, 1, 1024),
              maxWaitMs: whole('--batch-wait-ms', flags.batchWaitMs, 0, 1000),
            }
          : false,
        limits: {
          ...(flags.maxPixels ? { maxPixels: whole('--max-pixels', flags.maxPixels, 1, 1e10) } : {}),
          ...(uploadBytes ? { bodyBytes: uploadBytes, fileBytes: uploadBytes } : {}),
        },
        corsOrigins: flags.cors,
        indexRoots: flags.indexRoot,
        logger: flags.log ?? false,
      });
      const address = await listenUntilStopped(app, { port, host: flags.host });
      const { model } = (await app.inject({ method: 'GET', url: '/health' })).json() as { model: string };
      err(`xmodal: serving ${model} on ${address} (UI ${address}/, docs ${address}/docs)\n`);
    });
}
