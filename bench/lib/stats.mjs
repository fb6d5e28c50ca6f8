/** Summaries of repeated timings, and their formatting for the report. */

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Returns the median, minimum and maximum of `values`, and how many there are. */
export function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values.length };
}

/** Formats milliseconds as seconds with three decimals, e.g. "0.141 s". */
export function seconds(ms) {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** Formats a timing summary: "0.141 s (0.110-0.150 s, 15 runs)". */
export function spread(summary) {
  const runs = summary.runs === 1 ? '1 run' : `${summary.runs} runs`;
  return `${seconds(summary.median)} (${(summary.min / 1000).toFixed(3)}-${seconds(summary.max)}, ${runs})`;
}

export function megabytes(bytes) {
  return bytes === undefined ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
