#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { asXmodalError } from '../errors.js';
import { modelWithAdapter, registerAdapt } from './adapt.js';
import { registerAsk } from './ask.js';
import { registerAudit } from './audit.js';
import { registerBind } from './bind.js';
import { registerClassify } from './classify.js';
import { registerCollections } from './collections.js';
import { registerDemo } from './demo.js';
import { registerEmbed } from './embed.js';
import { registerEval } from './eval.js';
import { registerIndex } from './index-command.js';
import { type CliIo, err, out, processIo, withIo } from './io.js';
import { registerModels } from './models.js';
import { registerModerate } from './moderate.js';
import { registerQuality } from './quality.js';
import { registerQueue } from './queue.js';
import { registerSearch } from './search.js';
import { registerServe } from './serve.js';
import { registerSimilarity } from './similarity.js';
import { registerWorker } from './worker.js';

function withModelFlags(command: Command): Command {
  return command
    .option('-m, --model <model>', 'model: a shipped name, a folder, or a hub id (env XMODAL_MODEL)')
    .addOption(
      new Option('--dtype <dtype>', 'weight variant').choices(['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4']),
    )
    .option('--offline', 'never download; hub models must be cached (env XMODAL_OFFLINE=1)')
    .option('--cache-dir <dir>', 'where hub downloads are cached (env XMODAL_CACHE)')
    .option('--adapter <dir>', 'apply an adapter trained by `xmodal adapt` on top of its model')
    .hook('preAction', (self) => {
      const flags = self.opts();
      if (flags.adapter) self.setOptionValue('model', modelWithAdapter(flags.adapter, flags.model));
    });
}

export function buildProgram(): Command {
  const program = new Command('xmodal')
    .description('One embedding space for text, images and audio.')
    .option('--home <dir>', 'where collections live (env XMODAL_HOME, default ~/.xmodal)')
    .option(
      '--store <url>',
      'keep collections in PostgreSQL + pgvector (postgres://user:pass@host/db) or Milvus (milvus://host:19530) instead',
    )
    .exitOverride()
    .configureOutput({
      writeOut: out,
      writeErr: err,
      outputError: (text, write) => write(`xmodal: ${text.replace(/^error: /, '').trim()}\n`),
    });
  registerEmbed(program, withModelFlags);
  registerSimilarity(program, withModelFlags);
  registerModels(program);
  registerEval(program, withModelFlags);
  registerIndex(program, withModelFlags);
  registerSearch(program, withModelFlags);
  registerCollections(program);
  registerServe(program, withModelFlags);
  registerDemo(program, withModelFlags);
  registerClassify(program, withModelFlags);
  registerModerate(program, withModelFlags);
  registerQuality(program);
  registerAdapt(program, withModelFlags);
  registerAsk(program, withModelFlags);
  registerAudit(program, withModelFlags);
  registerBind(program, withModelFlags);
  registerWorker(program);
  registerQueue(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * Runs one command line and resolves to its exit code; everything it prints goes to `io` (the process's
 * streams by default; tests pass their own and run the program in-process).
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return withIo(io, async () => {
    try {
      await buildProgram().parseAsync(argv, { from: 'user' });
      // A command that finished with partial failures (e.g. some files not indexed) sets its own exit code.
      return io.exitCode ?? 0;
    } catch (error) {
      if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
      const failure = asXmodalError(error);
      err(`xmodal: ${failure.message.split('\n')[0]}\n`);
      if (process.env.XMODAL_DEBUG) console.error(error);
      return failure.exitCode;
    }
  });
}

// Run as the `xmodal` program (also through npm's bin link), not when imported.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = await main(process.argv.slice(2));
