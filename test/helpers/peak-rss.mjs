// Preloaded into a CLI child (NODE_OPTIONS=--import=...): writes the process's peak resident memory, in bytes,
// to XMODAL_PEAK_RSS_FILE when it exits.
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

if (isMainThread && process.env.XMODAL_PEAK_RSS_FILE)
  process.on('exit', () => {
    writeFileSync(process.env.XMODAL_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS * 1024));
  });
