import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { xmodalError } from '../errors.js';
import { type ChatApi, chatEndpointFrom, llmApiKey } from '../tasks/chat.js';
import { ask, type Source } from '../tasks/rag.js';
import { CrossEncoderReranker, HttpReranker, type TextReranker } from '../tasks/rerank.js';
import type { Fusion } from '../tasks/retrieve.js';
import { openCollection } from '../tasks/workspace.js';
import { out, printJson } from './io.js';
import { type ModelFlags, parseDtype } from './shared.js';
import { withCollectionFlag, workspaceOf } from './workspace-flags.js';

interface AskFlags extends ModelFlags {
  collection: string;
  llmUrl?: string;
  llmModel?: string;
  llmApi?: ChatApi;
  sources: string;
  candidates: string;
  fusion: Fusion;
  rescore: boolean;
  rerankUrl?: string;
  rerankModel?: string;
  crossEncoder?: string;
  images?: boolean;
  sourcesOnly?: boolean;
  json?: boolean;
}

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw xmodalError('BAD_ARGUMENT', `${name} must be a positive integer, got "${value}"`);
  return n;
}

const describe = (s: Source) =>
  `[${s.n}] ${s.modalities.join('+')}  ${s.files.map((f) => basename(f)).join(', ')}`;

export function registerAsk(program: Command, withModelFlags: (c: Command) => Command): void {
  withCollectionFlag(
    withModelFlags(
      program
        .command('ask')
        .description('answer a question from a collection with an LLM, citing the items it used')
        .argument('<question>', 'what to ask')
        .option('--llm-url <url>', 'OpenAI-compatible base URL (…/v1) or Ollama (env XMODAL_LLM_URL)')
        .option('--llm-model <name>', 'model the LLM server should use (env XMODAL_LLM_MODEL)')
        .addOption(
          new Option('--llm-api <api>', 'protocol (default: ollama on port 11434, else openai)').choices([
            'openai',
            'ollama',
          ]),
        )
        .option('--sources <n>', 'documents given to the LLM', '5')
        .option('--candidates <n>', 'documents retrieved and reranked', '20')
        .addOption(
          new Option('--fusion <how>', 'fuse text and media rankings')
            .choices(['rrf', 'average'])
            .default('rrf'),
        )
        .option('--no-rescore', 'skip rescoring with the encoder')
        .option(
          '--rerank-url <url>',
          'a rerank endpoint (Jina/Cohere/vLLM/TEI style) for documents with text',
        )
        .option('--rerank-model <name>', 'model the rerank endpoint should use')
        .option(
          '--cross-encoder <dir>',
          'a local cross-encoder folder (Hugging Face ONNX layout) to rerank texts with',
        )
        .option('--images', "attach the sources' images (for a vision model)")
        .option('--sources-only', 'retrieve and rerank, but ask no LLM')
        .option('--json', 'print {"answer","citations":[...],"sources":[...]}'),
    ),
  ).action(async (question: string, flags: AskFlags, command: Command) => {
    const llm = chatEndpointFrom({ url: flags.llmUrl, model: flags.llmModel, api: flags.llmApi });
    if (!flags.sourcesOnly && !llm)
      throw xmodalError(
        'BAD_ARGUMENT',
        'give --llm-url and --llm-model (or XMODAL_LLM_URL/XMODAL_LLM_MODEL), or --sources-only',
      );
    const apiKey = llmApiKey();
    if (flags.rerankUrl && flags.crossEncoder)
      throw xmodalError('BAD_ARGUMENT', 'give --rerank-url or --cross-encoder, not both');
    const crossEncoder = flags.crossEncoder ? new CrossEncoderReranker(flags.crossEncoder) : undefined;
    const textReranker: TextReranker | undefined = flags.rerankUrl
      ? new HttpReranker(flags.rerankUrl, flags.rerankModel, apiKey)
      : crossEncoder;
    const collection = await openCollection(workspaceOf(command), flags.collection, {
      model: flags.model,
      encoder: { dtype: parseDtype(flags.dtype), offline: flags.offline, cacheDir: flags.cacheDir },
    });
    try {
      const answer = await ask(collection, question, {
        sources: positiveInteger('--sources', flags.sources),
        rerankTop: positiveInteger('--candidates', flags.candidates),
        fusion: flags.fusion,
        rescore: flags.rescore,
        textReranker,
        sendImages: flags.images,
        llm: flags.sourcesOnly ? undefined : llm,
      });
      if (flags.json) {
        const { messages: _, ...rest } = answer;
        return printJson(rest);
      }
      if (answer.answer !== undefined) out(`${answer.answer.trim()}\n\n`);
      const listed = answer.answer !== undefined ? answer.citations : answer.sources;
      out(answer.answer !== undefined ? 'cited:\n' : 'sources:\n');
      if (listed.length === 0) out('  (none)\n');
      for (const s of listed) out(`  ${describe(s)}\n`);
    } finally {
      await crossEncoder?.dispose();
      await collection.close();
    }
  });
}
