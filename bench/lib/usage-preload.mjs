// Preloaded with --import into a measured process: at exit, writes the process's peak
// resident set size in bytes and its CPU time in milliseconds, as JSON, to the file named by
// BENCH_USAGE_FILE.
import { writeFileSync } from 'node:fs';

const path = process.env.BENCH_USAGE_FILE;
if (path) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    // maxRSS is in kilobytes (getrusage's ru_maxrss on Linux) and the CPU times in
    // microseconds. The CPU time counts every thread, V8's garbage collector helpers included.
    const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
    writeFileSync(path, JSON.stringify({ maxRssBytes: usage.maxRSS * 1024, cpuMs }));
  });
}
