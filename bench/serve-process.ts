// `xmodal serve` in its own process, for benches that must not share an event loop with their clients.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

export interface ServeProcess {
  child: ChildProcess;
  base: string;
  home: string;
}

/** Starts `xmodal serve --port 0 --model MODEL ...extra` with its own empty home; resolves with its address. */
export async function startServeProcess(model: string, extra: string[] = []): Promise<ServeProcess> {
  const home = mkdtempSync(join(tmpdir(), 'xmodal-bench-serve-'));
  const main = join(ROOT, 'src', 'cli', 'main.ts');
  const args = ['--import', 'tsx', main, '--home', home, 'serve', '--port', '0', '--model', model, ...extra];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const base = await new Promise<string>((done, fail) => {
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const match = /serving .* on (http:\/\/[\d.]+:\d+)/.exec(stderr);
      if (match) done(match[1]);
    });
    child.on('exit', (code) => fail(new Error(`server exited ${code}: ${stderr}`)));
  });
  return { child, base, home };
}

/** Stops it (SIGTERM, waiting for the exit) and removes its home. */
export async function stopServeProcess(server: ServeProcess): Promise<void> {
  const exited = new Promise((done) => server.child.on('exit', done));
  server.child.kill('SIGTERM');
  await exited;
  rmSync(server.home, { recursive: true, force: true });
}
