// Ask questions about your files with a local LLM (Ollama, llama.cpp, vLLM: any OpenAI-compatible /v1 endpoint).
//   XMODAL_LLM_URL=http://127.0.0.1:11434 XMODAL_LLM_MODEL=llama3.2 npx tsx examples/rag-local-llm.ts <folder> "<question>"
import { openCollection } from 'xmodal';

const [folder = '.', question = 'What is in these files?'] = process.argv.slice(2);
const url = process.env.XMODAL_LLM_URL ?? 'http://127.0.0.1:11434';
const model = process.env.XMODAL_LLM_MODEL ?? 'llama3.2';

const notes = await openCollection('rag-example', { home: process.env.XMODAL_HOME ?? './xmodal-data' });
try {
  await notes.index([folder]);
  const result = await notes.ask(question, { llm: { url, model }, sources: 3 });
  console.log(result.answer?.trim());
  for (const source of result.citations) console.log(`  [${source.n}] ${source.files.join(', ')}`);
} finally {
  await notes.close();
}
