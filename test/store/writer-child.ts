// Child process for the two-writers test: upserts batches FIRST..FIRST+COUNT-1, deletes every tenth batch again,
// then closes the store (saving its index) and prints `done`.
import { openStore } from '../../src/store/open.js';
import { CRASH_OPTIONS, crashBatch } from './crash-data.js';

const [home, first, count] = process.argv.slice(2);
const store = await openStore(home, CRASH_OPTIONS);
for (let batch = Number(first); batch < Number(first) + Number(count); batch++) {
  await store.upsert(crashBatch(batch));
  if (batch % 10 === 0) await store.delete(crashBatch(batch).map((item) => item.id));
}
await store.close();
process.stdout.write('done\n');
