// Preloaded into a CLI child (NODE_OPTIONS=--import=...): writes the process's peak resident memory, in bytes,
// to XMODAL_PEAK_RSS_FILE when it exits.
import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/**
 * This process's peak resident memory in bytes. Linux's VmHWM starts afresh at exec; getrusage's maxRSS does
 * not (a child forked from a large test process reports the parent's size), so it is only the fallback.
 */
export function peakResidentBytes() {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
}

if (isMainThread && process.env.XMODAL_PEAK_RSS_FILE)
  process.on('exit', () => {
    writeFileSync(process.env.XMODAL_PEAK_RSS_FILE, String(peakResidentBytes()));
  });
