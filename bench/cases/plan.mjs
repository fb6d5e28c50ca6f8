/**
 * `tfa-gitops plan` of N settled accounts against the emulator, against the floor: a plain
 * client (bench/floor-client.mjs) that sends the same status requests with node's fetch at
 * the same concurrency. The emulator runs in its own process, so its time is the same for
 * both and never counted in either process.
 */

import { join } from 'node:path';

import { CLI, ROOT } from '../lib/paths.mjs';
import { expectSuccess, runNode } from '../lib/measure.mjs';
import { median, summarize } from '../lib/stats.mjs';

const FLOOR_CLIENT = join(ROOT, 'bench', 'floor-client.mjs');

/** The tool's default --parallelism, which the floor matches. */
export const PARALLELISM = 8;

/** Maximum ratio of a 1,000-account plan's median to the floor's. */
export const PLAN_TARGET = 1.3;

/** Maximum peak resident memory of a 10,000-account plan, in bytes. */
export const PLAN_MEMORY_TARGET_BYTES = 200 * 1024 * 1024;

/**
 * Runs the case: `count` accounts whose manifest files and store are in `manifestDir`, with
 * their API keys in the environment variables `keys` for the tool and in `keysFile` for the
 * floor, against the running `emulator`. `targets` names which limits of the
 * issue apply to this size. Every run, of either side, is checked to send exactly `count`
 * status requests.
 */
export async function planCase({ count, manifestDir, keys, keysFile, emulator, env, tempDir, warmups, runs, targets = {} }) {
  const runEnv = { ...env, ...keys, VAST_URL: emulator.url };
  const tool = [];
  const floor = [];
  const toolCpu = [];
  const floorCpu = [];
  let toolRss = 0;
  let floorRss = 0;

  for (let run = 0; run < warmups + runs; run++) {
    const toolFirst = run % 2 === 0;
    for (const side of toolFirst ? ['tool', 'floor'] : ['floor', 'tool']) {
      await emulator.command('reset');
      const result = side === 'tool'
        ? await runNode([CLI, 'plan', '-f', manifestDir], { cwd: manifestDir, env: runEnv, tempDir, usage: true })
        : await runNode([FLOOR_CLIENT, emulator.url, String(PARALLELISM), keysFile], { cwd: manifestDir, env: runEnv, tempDir, usage: true });
      expectSuccess(result, side === 'tool' ? `tfa-gitops plan of ${count} accounts` : 'the floor client');
      if (side === 'tool' && !result.stdout.includes('No changes')) {
        throw new Error(`tfa-gitops plan of ${count} settled accounts printed changes:\n${result.stdout.slice(0, 2000)}`);
      }

      const stats = await emulator.command('stats');
      const reads = stats.byPath['GET /api/v0/tfa/status/'] ?? 0;
      if (reads !== count || stats.requests !== count) {
        throw new Error(`${side} sent ${stats.requests} requests (${reads} status reads) for ${count} accounts`);
      }

      if (run < warmups) continue;
      if (side === 'tool') {
        tool.push(result.ms);
        toolCpu.push(result.cpuMs ?? Number.NaN);
        toolRss = Math.max(toolRss, result.maxRssBytes ?? 0);
      } else {
        floor.push(result.ms);
        floorCpu.push(result.cpuMs ?? Number.NaN);
        floorRss = Math.max(floorRss, result.maxRssBytes ?? 0);
      }
    }
  }

  const toolSummary = summarize(tool);
  const floorSummary = summarize(floor);
  const ratio = toolSummary.median / floorSummary.median;
  const checks = [];
  if (targets.ratio) checks.push({ what: 'ratio to the HTTP floor', value: ratio, max: PLAN_TARGET, unit: 'x' });
  if (targets.memory) checks.push({ what: 'peak resident memory', value: toolRss, max: PLAN_MEMORY_TARGET_BYTES, unit: 'bytes' });

  return {
    name: `plan-${count}`,
    title: `plan of ${count} settled account${count === 1 ? '' : 's'}, ${PARALLELISM} at a time`,
    tool: { label: 'tfa-gitops plan', ...toolSummary, maxRssBytes: toolRss },
    floor: { label: `fetch, ${count} status read${count === 1 ? '' : 's'}`, ...floorSummary, maxRssBytes: floorRss },
    ratio,
    // CPU time varies less than wall time when other programs load the machine, so its ratio
    // shows whether a wall-time ratio moved because of the tool or because of the machine.
    cpuRatio: median(toolCpu) / median(floorCpu),
    cpu: { tool: summarize(toolCpu), floor: summarize(floorCpu) },
    perAccountMs: count > 1 ? (toolSummary.median - floorSummary.median) / count : undefined,
    targets: checks,
  };
}
