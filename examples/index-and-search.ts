// Index a folder of images, sounds and notes, then search it with words, a picture, and filters.
//   npx tsx examples/index-and-search.ts <folder> [query]
import { openCollection } from 'xmodal';

const [folder = '.', query = 'a dog'] = process.argv.slice(2);
const collection = await openCollection('examples', { home: process.env.XMODAL_HOME ?? './xmodal-data' });
try {
  const report = await collection.index([folder], {
    onProgress: (p) => process.stderr.write(`\r${p.done}/${p.total} files`),
  });
  process.stderr.write('\n');
  console.log(`indexed ${report.indexed}, unchanged ${report.unchanged}, failed ${report.failed.length}`);

  // Words → anything, best first.
  const { results } = await collection.search({ text: query, k: 3 });
  for (const hit of results) console.log(`${hit.score.toFixed(3)}  ${hit.modality}  ${hit.uri}`);

  // Only pictures, steered away from a word; then "more like" the best picture.
  const pictures = await collection.search({ text: query, not: 'a car', modality: 'image', k: 1 });
  const best = pictures.results[0];
  if (best) {
    console.log(`best picture: ${best.uri}`);
    const similar = await collection.search({ like: best.id, modality: 'image', k: 3 });
    console.log(`like it: ${similar.results.map((h) => h.uri?.split('/').at(-1)).join(', ')}`);
  }
} finally {
  await collection.close();
}
