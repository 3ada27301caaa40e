import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface FakeLlm {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/**
 * A local stand-in for an LLM service on 127.0.0.1: OpenAI `POST /v1/chat/completions`, Ollama `POST /api/chat`
 * and a rerank endpoint `POST /v1/rerank` (score = how many query words a document contains).
 * `answer` writes the assistant's reply from the prompt it received.
 */
export async function startFakeLlm(answer: (prompt: string) => string, status = 200): Promise<FakeLlm> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (d) => {
      raw += d;
    });
    request.on('end', () => {
      const body = JSON.parse(raw || '{}');
      received.push({ path: request.url ?? '', headers: request.headers, body });
      const reply = (value: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(status === 200 ? value : { error: { message: 'model is overloaded' } }));
      };
      const messages = (body.messages ?? []) as { role: string; content: unknown }[];
      const prompt = messages
        .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)))
        .join('\n');
      if (request.url === '/v1/chat/completions')
        return reply({
          id: 'chatcmpl-test',
          object: 'chat.completion',
          created: 0,
          model: body.model,
          choices: [
            { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: answer(prompt) } },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
      if (request.url === '/api/chat')
        return reply({
          model: body.model,
          done: true,
          message: { role: 'assistant', content: answer(prompt) },
        });
      if (request.url === '/v1/rerank') {
        const words = String(body.query).toLowerCase().match(/\w+/g) ?? [];
        const documents = body.documents as string[];
        return reply({
          model: body.model,
          results: documents
            .map((d, index) => ({
              index,
              relevance_score: words.filter((w) => d.toLowerCase().includes(w)).length,
            }))
            .sort((a, b) => b.relevance_score - a.relevance_score),
        });
      }
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
