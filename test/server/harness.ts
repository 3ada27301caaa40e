import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp, type ServerOptions } from '../../src/server/app.js';
import { TINY_CLIP, tempDir } from '../helpers/paths.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are parsed JSON, checked field by field by the assertions.
export type Json = any;

export interface RunningServer {
  app: FastifyInstance;
  base: string;
  home: string;
  /** JSON request; returns status and parsed body. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Json }>;
  close(): Promise<void>;
}

/** A real server on 127.0.0.1 with its own empty home, serving the tiny CLIP fixture unless told otherwise. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const home = tempDir('xmodal-server-');
  const app = await buildApp({ model: TINY_CLIP, workspace: { home }, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  return {
    app,
    base,
    home,
    async call(method, path, body, headers = {}) {
      const response = await fetch(base + path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: response.status, body: parsed };
    },
    async close() {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function dataUrl(mime: string, bytes: Uint8Array): string {
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}

export function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, x, i) => sum + x * b[i], 0);
}

/** How many modalities the server's model has been called for so far (its /metrics): 0 until it embeds anything. */
export async function embeddedModalities(server: RunningServer): Promise<number> {
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  return (metrics.match(/^xmodal_embed_calls_total\{/gm) ?? []).length;
}
