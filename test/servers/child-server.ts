// Starts a server process, waits for the line that says it is ready, and stops it for sure.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface ChildServer {
  child: ChildProcess;
  /** The ready line's regex match. */
  ready: RegExpMatchArray;
  stop(): Promise<void>;
}

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
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => running.delete(child));
  let output = '';
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(stopSignal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise((resolve, reject) => {
    const fail = async (why: string) => {
      clearTimeout(timer);
      await stop();
      reject(new Error(`${name} did not start: ${why}\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`no "${ready.source}" within ${timeoutMs / 1000} s`), timeoutMs);
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = output.match(ready);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      // Keep draining so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      resolve({ child, ready: match, stop });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? code}`));
  });
}
