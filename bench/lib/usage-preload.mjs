// Preloaded with --import into a measured process: at exit, writes the process's peak
// resident set size in bytes to the file named by BENCH_MAX_RSS_FILE.
import { writeFileSync } from 'node:fs';

const path = process.env.BENCH_MAX_RSS_FILE;
if (path) {
  // resourceUsage().maxRSS is in kilobytes (getrusage's ru_maxrss on Linux).
  process.on('exit', () => writeFileSync(path, String(process.resourceUsage().maxRSS * 1024)));
}
