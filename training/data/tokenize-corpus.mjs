// Encode every corpus string with transformers.js's own AutoTokenizer, so training sees exactly the ids the runtime will.
// Usage: node training/data/tokenize-corpus.mjs [dataDir]  -> dataDir/token-ids.json ({string: ids})
// Besides the corpus: the aliases (data/aliases.py), the "texts" of every row of the extra sources' JSONL files
// (drawings, sound effects) and the "word" of every spoken clip (data/render_vocabulary.py) found in dataDir.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env } from '@huggingface/transformers';

env.allowRemoteModels = false;
const dataDir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '.data'));
const tokenizer = await AutoTokenizer.from_pretrained(join(dataDir, 'tokenizer'));
const { strings } = JSON.parse(readFileSync(join(dataDir, 'corpus.json'), 'utf8'));
const extra = process.argv.slice(3);
const aliasesFile = join(dataDir, 'aliases.json');
if (existsSync(aliasesFile))
  for (const rows of Object.values(JSON.parse(readFileSync(aliasesFile, 'utf8'))))
    if (Array.isArray(rows)) for (const a of rows) extra.push(a.text, ...a.targets);
for (const f of readdirSync(dataDir).filter((f) => /-(train|heldout)\.jsonl$/.test(f)))
  for (const line of readFileSync(join(dataDir, f), 'utf8').split('\n'))
    if (line.includes('"texts"') || line.includes('"word"')) {
      const row = JSON.parse(line);
      if (Array.isArray(row.texts)) extra.push(...row.texts);
      else if (typeof row.word === 'string') extra.push(row.word);
    }
const out = {};
let unk = 0;
for (const s of new Set([...strings, ...extra])) {
  const ids = tokenizer.encode(s);
  if (ids.includes(1)) unk++;
  out[s] = ids;
}
writeFileSync(join(dataDir, 'token-ids.json'), JSON.stringify(out));
const lens = Object.values(out).map((v) => v.length);
console.log(`${lens.length} strings, max ${lens.reduce((a, b) => Math.max(a, b), 0)} tokens, mean ${(lens.reduce((a, b) => a + b, 0) / lens.length).toFixed(1)}, ${unk} with [UNK]`);
for (const s of ['dog', 'cane', 'Face with Tears of Joy', 'faccina con lacrime di gioia', 'サルの顔', 'acoustic grand piano', 'caffè'])
  console.log(s, tokenizer.encode(s), tokenizer.tokenize(s));
const batch = tokenizer(['dog', 'a red car'], { padding: true, truncation: true, max_length: 32 });
console.log(Object.keys(batch), batch.input_ids.dims, batch.attention_mask.tolist());
