import type { FastifyRequest } from 'fastify';
import { xmodalError } from '../errors.js';

export interface UploadedFile {
  filename: string;
  bytes: Uint8Array;
}

/** Every file of a multipart request, in order, plus its plain fields; the plugin enforces the size limits. */
export async function readMultipart(
  request: FastifyRequest,
): Promise<{ files: UploadedFile[]; fields: Record<string, string[]> }> {
  const files: UploadedFile[] = [];
  const fields: Record<string, string[]> = {};
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const bytes = await part.toBuffer();
      files.push({ filename: part.filename || `upload-${files.length}`, bytes: new Uint8Array(bytes) });
    } else {
      fields[part.fieldname] = [...(fields[part.fieldname] ?? []), String(part.value)];
    }
  }
  return { files, fields };
}

export function requireFiles(files: UploadedFile[]): UploadedFile[] {
  if (files.length === 0) throw xmodalError('BAD_ARGUMENT', 'no files in the multipart request');
  return files;
}
