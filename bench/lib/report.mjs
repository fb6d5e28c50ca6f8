/** Prints the benchmark's results: one block per case as it finishes, then a summary table. */

import { megabytes, seconds, spread } from './stats.mjs';

function formatValue(value, unit) {
  if (unit === 'x') return value.toFixed(2);
  if (unit === 'bytes') return megabytes(value);
  return String(value);
}

function formatLimit(max, unit) {
  return unit === 'bytes' ? megabytes(max) : String(max);
}

/** Describes each target of a result: its value, its limit, and whether it was met. */
export function targetLines(result, quick) {
  return result.targets.map((target) => {
    let verdict = target.value <= target.max ? 'met' : 'MISSED';
    if (quick) verdict = 'not checked at --quick sizes';
    return `${target.what}: ${formatValue(target.value, target.unit)} (target at most ${formatLimit(target.max, target.unit)}: ${verdict})`;
  });
}

export function printResult(result, quick) {
  const rss = (side) => (side.maxRssBytes === undefined ? '' : `   peak RSS ${megabytes(side.maxRssBytes)}`);
  const lines = [
    '',
    `${result.name}: ${result.title}`,
    `  ${result.tool.label.padEnd(28)} ${spread(result.tool)}${rss(result.tool)}`,
    `  ${result.floor.label.padEnd(28)} ${spread(result.floor)}${rss(result.floor)}`,
  ];
  if (result.name.startsWith('apply')) {
    lines.push(`  ratio: ${result.ratio.toFixed(1)} (wall time to the emulator's CPU time; its handlers took ${seconds(result.emulatorHandlerMs)})`);
    lines.push(`  API calls per account: max ${result.callsPerAccount.max}, mean ${result.callsPerAccount.mean.toFixed(2)}`);
    lines.push(`  TOTP step waits per account: max ${result.waitsPerAccount.max}, mean ${result.waitsPerAccount.mean.toFixed(2)}`);
  } else {
    lines.push(`  ratio: ${result.ratio.toFixed(2)} (median to the floor's median)`);
    if (result.cpuRatio !== undefined) {
      lines.push(`  CPU time: ${seconds(result.cpu.tool.median)} against ${seconds(result.cpu.floor.median)}, ratio ${result.cpuRatio.toFixed(2)}`);
    }
    if (result.perAccountMs !== undefined) lines.push(`  cost over the floor per account: ${result.perAccountMs.toFixed(3)} ms`);
  }
  for (const line of targetLines(result, quick)) lines.push(`  ${line}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Prints the Markdown table of all results and the targets; returns how many were missed. */
export function printSummary(results, quick, elapsedMs) {
  const lines = [
    '',
    '| case | tool, median (min-max) | floor | floor, median | ratio | peak RSS |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of results) {
    const ratio = result.name.startsWith('apply') ? result.ratio.toFixed(1) : result.ratio.toFixed(2);
    const toolSpread = `${seconds(result.tool.median)} (${(result.tool.min / 1000).toFixed(3)}-${(result.tool.max / 1000).toFixed(3)})`;
    lines.push(`| ${result.name} | ${toolSpread} | ${result.floor.label} | ${seconds(result.floor.median)} | ${ratio} | ${megabytes(result.tool.maxRssBytes)} |`);
  }

  const targets = results.flatMap((result) => result.targets.map((target) => ({ result, target })));
  const missed = quick ? 0 : targets.filter(({ target }) => target.value > target.max).length;
  lines.push('');
  lines.push(quick ? `targets: not checked at --quick sizes (${targets.length} listed)` : `targets: ${targets.length - missed} of ${targets.length} met`);
  lines.push(`benchmark time: ${seconds(elapsedMs)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return missed;
}
