// Run by library.test.ts in a child process: library calls whose console output must be nothing at all.
import { join } from 'node:path';
import { classify, openCollection } from '../../src/index.js';
import { IMAGES, TINY_CLIP } from '../helpers/paths.js';

const home = process.argv[2];
const collection = await openCollection('quiet', { home, model: TINY_CLIP });
const report = await collection.index([join(IMAGES, 'photo.png'), join(IMAGES, 'corrupt.jpg')]);
if (report.failed.length !== 1) process.exitCode = 10;
await collection.search('a photo');
await collection.close();
await classify(join(IMAGES, 'photo.png'), { model: TINY_CLIP, labels: ['a', 'b'] });
await collection.search('a photo').then(
  () => {
    process.exitCode = 11; // a closed collection must refuse
  },
  () => {},
);
