// Child process for the kill -9 test: upserts batches forever, printing `ack <batch>` after each one resolves.
import { openStore } from '../../src/store/open.js';
import { CRASH_OPTIONS, crashBatch } from './crash-data.js';

const [home] = process.argv.slice(2);
const store = await openStore(home, CRASH_OPTIONS);
for (let batch = 0; ; batch++) {
  await store.upsert(crashBatch(batch));
  process.stdout.write(`ack ${batch}\n`);
}
