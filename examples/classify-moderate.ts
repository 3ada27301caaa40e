// A pipeline for uploads: tag each image or sound zero-shot, and hold back what a moderation policy flags.
//   npx tsx examples/classify-moderate.ts <file>...
import { classify, loadModel, moderate, type Policy } from 'xmodal';

const files = process.argv.slice(2);
const policy: Policy = {
  name: 'shop',
  unsafe: [{ name: 'weapons', prompts: ['pistol', 'knife', 'dagger', 'bomb'], threshold: 0.5 }],
  safe: [
    { name: 'animals', prompts: ['dog', 'cat', 'bird'] },
    { name: 'things', prompts: ['car', 'guitar', 'house', 'apple'] },
  ],
};
const labels = ['dog', 'cat', 'bird', 'car', 'guitar', 'house', 'apple', 'dagger'];

// One model for every call: loading it once is much faster than once per file.
const model = await loadModel();
try {
  for (const file of files) {
    const { labels: best } = await classify(file, { model, labels, k: 1 });
    const verdict = await moderate(file, { model, policy });
    const status = verdict.safe ? 'publish' : `review (${verdict.flagged.map((f) => f.category).join(', ')})`;
    console.log(`${file}: ${best[0].label} ${(100 * best[0].score).toFixed(0)}% → ${status}`);
  }
} finally {
  await model.dispose();
}
