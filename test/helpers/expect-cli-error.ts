import assert from 'node:assert/strict';
import { errorLines, runCli } from './cli.js';

/** Runs the CLI and expects one error line matching `message` and the exit code. */
export async function expectCliError(args: string[], exitCode: number, message: RegExp): Promise<void> {
  const result = await runCli(args);
  assert.equal(result.code, exitCode, result.stderr);
  const lines = errorLines(result);
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], message);
}
