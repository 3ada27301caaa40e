// A real Milvus Lite server (PyPI milvus-lite) on 127.0.0.1, one per test file, with its own data folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './child-server.js';

export interface MilvusLiteServer {
  /** A `milvus://127.0.0.1:PORT` location for `openStore`. */
  url: string;
  stop(): Promise<void>;
}

export async function startMilvusLite(venv: string): Promise<MilvusLiteServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xmodal-milvus-'));
  try {
    const server = await startChild(
      'Milvus Lite',
      join(venv, 'bin', 'python'),
      [join(import.meta.dirname, 'milvus_lite_server.py'), join(dataDir, 'milvus.db')],
      /\{"port": (\d+)\}/,
      { timeoutMs: 60_000 },
    );
    return {
      url: `milvus://127.0.0.1:${server.ready[1]}`,
      async stop() {
        server.child.stdin?.end();
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
