import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
}

export interface HubServer {
  /** What to set HF_ENDPOINT to. */
  url: string;
  requests: HubRequest[];
  /** The next GET of this file (`repo/revision/file`) sends half its bytes, then drops the connection. */
  cutOnce(file: string): void;
  close(): Promise<void>;
}

/**
 * A local stand-in for the Hugging Face hub's file protocol, `/{owner}/{name}/resolve/{revision}/{file}`, as
 * transformers.js requests it: HEAD and GET, byte ranges, 404 with the hub's X-Error-Code for a missing
 * repository, revision or file. `repos` maps `owner/name` to `{revision: folder}`.
 */
export async function startHubServer(repos: Record<string, Record<string, string>>): Promise<HubServer> {
  const requests: HubRequest[] = [];
  const cuts = new Set<string>();
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent((request.url ?? '/').split('?')[0]);
    requests.push({ method: request.method ?? 'GET', path, range: request.headers.range });
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const missing = (code: string) => {
      response.writeHead(404, { 'x-error-code': code, 'content-type': 'text/plain' });
      response.end(`${code}: ${path}`);
    };
    if (!match) return missing('EntryNotFound');
    const [, repo, revision, file] = match;
    if (!repos[repo]) return missing('RepoNotFound');
    const folder = repos[repo][revision];
    if (!folder) return missing('RevisionNotFound');
    const full = join(folder, file);
    if (file.includes('..') || !existsSync(full) || !statSync(full).isFile()) return missing('EntryNotFound');
    const bytes = readFileSync(full);
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Number(range[2]) + 1 : bytes.length;
    const headers = {
      'content-type': 'application/octet-stream',
      'content-length': String(end - start),
      'accept-ranges': 'bytes',
      etag: `"${bytes.length}"`,
      ...(range ? { 'content-range': `bytes ${start}-${end - 1}/${bytes.length}` } : {}),
    };
    response.writeHead(range ? 206 : 200, headers);
    if (request.method === 'HEAD') return response.end();
    const key = `${repo}/${revision}/${file}`;
    if (!range && cuts.delete(key)) {
      // Half the file, then the connection drops: what a flaky network does to a large download.
      response.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => response.destroy());
      return;
    }
    response.end(bytes.subarray(start, end));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutOnce: (file) => cuts.add(file),
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
