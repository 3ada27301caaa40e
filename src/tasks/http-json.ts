import { errorMessage, xmodalError } from '../errors.js';

/** POSTs JSON and parses the JSON answer; any failure is UPSTREAM_ERROR naming the URL. */
export async function postJson(
  url: string,
  body: unknown,
  apiKey?: string,
  timeoutMs = 120_000,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? errorMessage(error);
    throw xmodalError('UPSTREAM_ERROR', `cannot reach ${url} (${reason})`, error);
  }
  const text = await response.text();
  if (!response.ok)
    throw xmodalError(
      'UPSTREAM_ERROR',
      `${url} answered ${response.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`,
    );
  try {
    return JSON.parse(text);
  } catch (error) {
    throw xmodalError('UPSTREAM_ERROR', `${url} did not answer JSON`, error);
  }
}
