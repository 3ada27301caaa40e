import { xmodalError } from '../errors.js';
import { postJson } from './http-json.js';

export type ChatApi = 'openai' | 'ollama';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** Base64 images for a vision model (OpenAI: image_url parts; Ollama: `images`). */
  images?: { mime: string; base64: string }[];
}

export interface ChatEndpoint {
  /** Base URL, e.g. `http://127.0.0.1:11434` (Ollama) or `http://127.0.0.1:8000/v1` (OpenAI-compatible). */
  url: string;
  model: string;
  /** Default: `ollama` for a URL on port 11434 without /v1, else `openai`. */
  api?: ChatApi;
  apiKey?: string;
  timeoutMs?: number;
}

/**
 * The LLM endpoint: what the caller gives (CLI flags) over `XMODAL_LLM_URL`, `XMODAL_LLM_MODEL`,
 * `XMODAL_LLM_API_KEY`; undefined unless both a URL and a model are known.
 */
export function chatEndpointFrom(
  given: Partial<ChatEndpoint> = {},
  env = process.env,
): ChatEndpoint | undefined {
  const url = given.url ?? env.XMODAL_LLM_URL;
  const model = given.model ?? env.XMODAL_LLM_MODEL;
  if (!url || !model) return undefined;
  return { ...given, url, model, apiKey: given.apiKey ?? llmApiKey(env) };
}

/** The key sent to the LLM and rerank services (`XMODAL_LLM_API_KEY`). */
export function llmApiKey(env = process.env): string | undefined {
  return env.XMODAL_LLM_API_KEY;
}

export function chatApiOf(endpoint: Pick<ChatEndpoint, 'url' | 'api'>): ChatApi {
  if (endpoint.api) return endpoint.api;
  return /:11434(\/|$)/.test(endpoint.url) && !/\/v1(\/|$)/.test(endpoint.url) ? 'ollama' : 'openai';
}

/** One non-streaming chat completion at temperature 0; resolves to the assistant's text. */
export async function chat(endpoint: ChatEndpoint, messages: readonly ChatMessage[]): Promise<string> {
  if (!endpoint.model)
    throw xmodalError('BAD_ARGUMENT', 'no LLM model named (--llm-model / XMODAL_LLM_MODEL)');
  const base = endpoint.url.replace(/\/+$/, '');
  if (chatApiOf(endpoint) === 'ollama') {
    const url = base.endsWith('/api/chat') ? base : `${base}/api/chat`;
    const body = (await postJson(
      url,
      {
        model: endpoint.model,
        stream: false,
        options: { temperature: 0 },
        messages: messages.map((m) => ({
          role: m.role,
          content: m.content,
          ...(m.images?.length ? { images: m.images.map((i) => i.base64) } : {}),
        })),
      },
      endpoint.apiKey,
      endpoint.timeoutMs,
    )) as { message?: { content?: unknown } };
    if (typeof body.message?.content !== 'string')
      throw xmodalError('UPSTREAM_ERROR', `${url}: no message in the answer`);
    return body.message.content;
  }
  const url = base.endsWith('/chat/completions') ? base : `${base}/chat/completions`;
  const body = (await postJson(
    url,
    {
      model: endpoint.model,
      temperature: 0,
      stream: false,
      messages: messages.map((m) => ({
        role: m.role,
        content: m.images?.length
          ? [
              { type: 'text', text: m.content },
              ...m.images.map((i) => ({
                type: 'image_url',
                image_url: { url: `data:${i.mime};base64,${i.base64}` },
              })),
            ]
          : m.content,
      })),
    },
    endpoint.apiKey,
    endpoint.timeoutMs,
  )) as { choices?: { message?: { content?: unknown } }[] };
  const content = body.choices?.[0]?.message?.content;
  if (typeof content !== 'string')
    throw xmodalError('UPSTREAM_ERROR', `${url}: no choices[0].message.content in the answer`);
  return content;
}
