import type { FastifyRequest } from 'fastify';
import { XmodalError, xmodalError } from '../errors.js';
import type { UploadedFile } from '../tasks/uploads.js';
import type { ServerLimits } from './context.js';

const MiB = 1024 * 1024;
/** Most plain fields (tags) in one multipart request, and the longest one. */
const FORM_FIELDS = 32;
const FIELD_BYTES = 64 * 1024;

/** The multipart parser's limits, from the server's: the plugin's defaults and each read of a request use these. */
export function multipartLimits({ fileBytes, files }: Pick<ServerLimits, 'fileBytes' | 'files'>) {
  return {
    fileSize: fileBytes,
    files,
    fields: FORM_FIELDS,
    fieldSize: FIELD_BYTES,
    parts: files + FORM_FIELDS,
  };
}

function fileTooLarge(filename: string, fileBytes: number): XmodalError {
  return xmodalError(
    'INPUT_TOO_LARGE',
    `${filename || 'a file'} is over the ${+(fileBytes / MiB).toFixed(2)} MiB limit per file (--max-upload-mb)`,
  );
}

function tooLarge(totalBytes: number): XmodalError {
  return xmodalError(
    'INPUT_TOO_LARGE',
    `the request is over the ${+(totalBytes / MiB).toFixed(2)} MiB limit on a whole upload (--max-upload-mb)`,
  );
}

/**
 * Every file of a multipart request, in order, plus its plain fields. The parser enforces the per-file,
 * per-count and per-field limits (ours, even under a host app's own multipart settings); the whole request
 * is capped at `totalBytes` here, counted as it streams in, so a request of many files each under the
 * per-file limit is refused before it is all held in memory.
 */
export async function readMultipart(
  request: FastifyRequest,
  limits: Pick<ServerLimits, 'bodyBytes' | 'fileBytes' | 'files'>,
): Promise<{ files: UploadedFile[]; fields: Record<string, string[]> }> {
  const { bodyBytes: totalBytes, fileBytes } = limits;
  if (Number(request.headers['content-length']) > totalBytes) throw tooLarge(totalBytes);
  const files: UploadedFile[] = [];
  const fields: Record<string, string[]> = {};
  let received = 0;
  const count = (bytes: number) => {
    received += bytes;
    if (received > totalBytes) throw tooLarge(totalBytes);
  };
  try {
    for await (const part of request.parts({ limits: multipartLimits(limits) })) {
      if (part.type === 'file') {
        const chunks: Buffer[] = [];
        for await (const chunk of part.file as AsyncIterable<Buffer>) {
          count(chunk.length);
          chunks.push(chunk);
        }
        // The per-file limit cuts the stream short and marks it; a cut file is never used.
        if (part.file.truncated) throw fileTooLarge(part.filename, fileBytes);
        const bytes = new Uint8Array(Buffer.concat(chunks));
        files.push({ filename: part.filename || `upload-${files.length}`, bytes });
      } else {
        // The parser cuts a long field short and marks it; a cut value is never used.
        if (part.valueTruncated)
          throw xmodalError(
            'INPUT_TOO_LARGE',
            `form field "${part.fieldname}" is over the ${FIELD_BYTES / 1024} KiB limit per field`,
          );
        const value = String(part.value);
        count(Buffer.byteLength(value));
        fields[part.fieldname] = [...(fields[part.fieldname] ?? []), value];
      }
    }
  } catch (error) {
    throw malformed(error, limits);
  }
  return { files, fields };
}

/**
 * Our errors pass through, the plugin's limit errors become ours naming the limit, its other errors pass
 * through to the framework's mapping; anything the parser choked on is a bad request.
 */
function malformed(error: unknown, limits: Pick<ServerLimits, 'fileBytes' | 'files'>): unknown {
  if (error instanceof XmodalError) return error;
  const code = (error as { code?: unknown })?.code;
  const most = (what: string) => xmodalError('INPUT_TOO_LARGE', `at most ${what} in one request`);
  if (code === 'FST_FILES_LIMIT') return most(`${limits.files} files`);
  if (code === 'FST_FIELDS_LIMIT') return most(`${FORM_FIELDS} form fields`);
  if (code === 'FST_PARTS_LIMIT') return most(`${limits.files + FORM_FIELDS} parts (files and fields)`);
  if (code === 'FST_REQ_FILE_TOO_LARGE') {
    const part = (error as { part?: { filename?: string } }).part;
    return fileTooLarge(part?.filename ?? '', limits.fileBytes);
  }
  if (typeof code === 'string' && code.startsWith('FST_')) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return xmodalError('BAD_INPUT', `malformed multipart body: ${reason}`, error);
}

export function requireFiles(files: UploadedFile[]): UploadedFile[] {
  if (files.length === 0) throw xmodalError('BAD_ARGUMENT', 'no files in the multipart request');
  return files;
}
