import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import fg from 'fast-glob';
import { main } from '../../src/cli/main.js';
import { type ChildServer, startChild } from '../servers/child-server.js';
import { type CliResult, finished } from './child.js';
import { ROOT } from './paths.js';

export type { CliResult };

/**
 * Runs the CLI program in this process, as `xmodal ARGS...` would, with its output captured: the same
 * `main` the binary runs, minus a Node start and a TypeScript compile per call. `env` is set for the call only.
 */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    const code = await main(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      isTTY: false,
    });
    return { code, stdout, stderr };
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** Node's arguments that run the real CLI entry point. */
const CLI_ENTRY = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];

/** Starts the real CLI entry point in a child process from the repository root (a handle, for signals). */
export function cliChild(args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, [...CLI_ENTRY, ...args], {
    cwd: ROOT,
    ...options,
  });
}

/** Runs the real CLI entry point in a child process, as a user would: for the few end-to-end checks. */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
  user?: { uid: number; gid: number },
): Promise<CliResult> {
  return finished(cliChild(args, { env: { ...process.env, ...env }, timeout: timeoutMs, ...user }));
}

let built: Promise<string> | undefined;

/**
 * The sources compiled to JavaScript (esbuild, under a second) once per test process, in a folder beside src so
 * that paths relative to the code (models/, src/ui, package.json) hold as in dist/; removed at exit. Resolves
 * to its CLI entry point.
 */
function builtCli(): Promise<string> {
  built ??= (async () => {
    const outdir = join(ROOT, `.test-build-${process.pid}`);
    process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));
    const entryPoints = await fg('src/**/*.ts', { cwd: ROOT, ignore: ['**/*.d.ts'], absolute: true });
    await build({
      entryPoints,
      outdir,
      outbase: join(ROOT, 'src'),
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
    });
    return join(outdir, 'cli', 'main.js');
  })();
  return built;
}

/**
 * Runs the CLI compiled to JavaScript, as the package ships it, in a child process: for runs timed by a hang
 * guard, since loading the CLI through the TypeScript loader takes two to four times as long.
 */
export async function spawnBuiltCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  const entry = await builtCli();
  return finished(
    spawn(process.execPath, [entry, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: timeoutMs,
    }),
  );
}

/** Errors are one line, no stack trace. */
export function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.trim() && !line.includes('Unknown project config'));
}

/** Starts a long-running CLI command (`serve`, `worker`) and resolves once it prints a line matching `ready`. */
export function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  return startChild(`xmodal ${args.join(' ')}`, process.execPath, [...CLI_ENTRY, ...args], ready, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeoutMs: 120_000,
  });
}
