// Downloads that survive a dropped connection. transformers.js reads a model file in one stream and fails the
// whole load when the connection drops half-way (its cache is written only from complete files, so nothing
// corrupt is kept, but nothing is kept at all): this fetch resumes such a stream where it stopped, with an
// HTTP Range request, and checks that every byte the server announced arrived.

const RESUMES = 3;

/** `fetch` for model downloads: a body cut short is resumed (Range) up to three times, else fails. */
export async function resumingFetch(url: string | URL | Request, init?: RequestInit): Promise<Response> {
  const first = await fetch(url, init);
  const method = (init?.method ?? 'GET').toUpperCase();
  if (method !== 'GET' || first.status !== 200 || !first.body || new Headers(init?.headers).has('range'))
    return first;
  const length = Number(first.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? length : undefined;
  let reader = first.body.getReader();
  let received = 0;
  let resumes = 0;
  const resume = async (cause: unknown) => {
    if (++resumes > RESUMES) throw cause;
    await reader.cancel().catch(() => {});
    const headers = new Headers(init?.headers);
    headers.set('range', `bytes=${received}-`);
    const again = await fetch(url, { ...init, headers });
    const start = Number(/^bytes (\d+)-/.exec(again.headers.get('content-range') ?? '')?.[1]);
    if (again.status !== 206 || start !== received || !again.body) {
      await again.body?.cancel().catch(() => {});
      throw cause;
    }
    reader = again.body.getReader();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
          if (chunk.done && total !== undefined && received < total)
            throw new Error(`connection closed after ${received} of ${total} bytes`);
        } catch (error) {
          await resume(error);
          continue;
        }
        if (chunk.done) controller.close();
        else {
          received += chunk.value.byteLength;
          controller.enqueue(chunk.value);
        }
        return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: first.status, statusText: first.statusText, headers: first.headers });
}
