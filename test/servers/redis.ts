// A real Redis server (Debian's redis-server) on 127.0.0.1 with its own temp folder, for the ingest queue.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './child-server.js';
import { freePort } from './ports.js';

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  stop(): Promise<void>;
}

/** Why Redis cannot run here, or undefined when redis-server is installed. */
export function redisUnavailable(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'redis-server is not installed (Debian package redis-server; .ci/run installs it)';
  }
}

export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-redis-'));
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        const server = await startChild(
          'redis-server',
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
          /Ready to accept connections/,
          { timeoutMs: 30_000 },
        );
        return {
          url: `redis://127.0.0.1:${port}`,
          async stop() {
            await server.stop();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        if (attempt >= 3 || !/in use/i.test(String(error))) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
