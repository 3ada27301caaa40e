// Starts a server process, waits for the line that says it is ready, and stops it for sure.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface ChildServer {
  child: ChildProcess;
  /** The ready line's regex match. */
  ready: RegExpMatchArray;
  /** Everything it printed so far (the last 256 KiB of stdout and stderr together). */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Sends the stop signal (SIGKILL after 10 s) and waits for the exit. */
  stop(): Promise<void>;
}

const KEEP = 256 * 1024;
const running = new Set<ChildProcess>();
// A test process that dies without its after() hooks still takes its servers with it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns `command`, resolves when stdout or stderr prints a line matching `ready`, rejects on exit or timeout. */
export function startChild(
  name: string,
  command: string,
  args: string[],
  ready: RegExp,
  options: SpawnOptions & { timeoutMs?: number; stopSignal?: NodeJS.Signals } = {},
): Promise<ChildServer> {
  const { timeoutMs = 60_000, stopSignal = 'SIGTERM', ...spawnOptions } = options;
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => running.delete(child));
  let output = '';
  // Always drained, so a chatty server never blocks on a full pipe.
  const onData = (data: Buffer) => {
    output = (output + data.toString()).slice(-KEEP);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(stopSignal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = async (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      await stop();
      reject(new Error(`${name} did not start: ${why}\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`no "${ready.source}" within ${timeoutMs / 1000} s`), timeoutMs);
    const poll = setInterval(() => {
      const match = output.match(ready);
      if (!match || settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ child, ready: match, output: () => output, exited, stop });
    }, 20);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? code}`));
  });
}
