/**
 * The benchmark: `npm run bench` builds, then runs every case as a user would run the tool,
 * several times after a warm-up, and prints each median with its spread, its ratio to a
 * floor measured in the same run, and peak memory. docs/benchmarks.md explains the cases.
 *
 * Usage: node bench/run.mjs [--quick] [--runs N] [--only NAME]... [--json FILE] [--check] [--keep]
 *   --quick   tiny sizes and one run each, to check the harness itself (targets not checked)
 *   --runs N  timed runs of every case, after its warm-up
 *   --only    run only the named cases: validate, plan-1, plan-1000, plan-10000, apply-100
 *   --json    also write the results to FILE
 *   --check   exit with code 1 when a target is missed
 *   --keep    keep the temporary folder with the fleets, stores and emulator state
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, loadavg, release, tmpdir, totalmem, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { applyCase } from './cases/apply.mjs';
import { planCase } from './cases/plan.mjs';
import { validateCase } from './cases/validate.mjs';
import { startEmulatorProcess } from './lib/emulator-control.mjs';
import { KEY_PREFIX, makeSettledAccounts, writeEmulatorState, writeFleetWorkspace } from './lib/fleet.mjs';
import { entryInUse } from './lib/paths.mjs';
import { printResult, printSummary } from './lib/report.mjs';

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string', multiple: true },
    json: { type: 'string' },
    check: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

/** Sizes and repetitions of each case; --quick shrinks them to check the harness in seconds. */
const schedule = options.quick
  ? { validate: [0, 2], small: [0, 1], sizes: [20, 50], sizeRuns: [[0, 1], [0, 1]], apply: [3, 0, 1] }
  : { validate: [2, 15], small: [1, 10], sizes: [1000, 10000], sizeRuns: [[1, 7], [1, 5]], apply: [100, 1, 3] };
const runsOverride = options.runs === undefined ? undefined : Number(options.runs);
if (runsOverride !== undefined && (!Number.isInteger(runsOverride) || runsOverride < 1)) {
  throw new Error(`--runs takes a whole number of at least 1, got "${options.runs}"`);
}
const repeat = ([warmups, runs]) => ({ warmups, runs: runsOverride ?? runs });
const wanted = (name) => options.only === undefined || options.only.includes(name);

function printMachine() {
  const [load1, load5] = loadavg();
  const lines = [
    `node ${process.version} on ${process.platform} ${release()}`,
    `cpu: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} available (nproc)`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`,
    `load average: ${load1.toFixed(2)} (1 min), ${load5.toFixed(2)} (5 min)`,
    `entry: ${entryInUse()}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Returns the environment of every measured process: this one's, less any fleet's keys and the tool's settings. */
function baseEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith(KEY_PREFIX) || name.startsWith('TFA_GITOPS_') || name === 'VAST_URL' || name === 'VAST_API_KEY') delete env[name];
  }
  return env;
}

const tempDir = await mkdtemp(join(tmpdir(), 'tfa-gitops-bench-'));
const env = baseEnv();
const results = [];
const emulators = [];
const started = performance.now();

try {
  printMachine();
  const [ratioSize, memorySize] = schedule.sizes;
  const planned = [1, ...schedule.sizes].filter((count) => wanted(`plan-${count}`));

  // One emulator contains every settled account, and each size plans the first N of them.
  const largest = Math.max(1, ...planned);
  process.stdout.write(`\npreparing ${largest} settled account(s) ...\n`);
  const accounts = makeSettledAccounts(largest);
  const statePath = await writeEmulatorState(join(tempDir, 'emulator'), accounts);
  const workspaces = new Map();
  for (const count of new Set([1, ...planned])) {
    const dir = join(tempDir, `fleet-${count}`);
    workspaces.set(count, await writeFleetWorkspace(dir, accounts.slice(0, count)));
  }

  if (wanted('validate')) {
    const result = await validateCase({ manifestDir: workspaces.get(1).manifestDir, env, tempDir, ...repeat(schedule.validate) });
    results.push(result);
    printResult(result, options.quick);
  }

  if (planned.length > 0) {
    const emulator = await startEmulatorProcess(statePath);
    emulators.push(emulator);
    for (const count of planned) {
      const runs = count === 1 ? schedule.small : schedule.sizeRuns[schedule.sizes.indexOf(count)];
      const targets = { ratio: count === ratioSize, memory: count === memorySize };
      const { manifestDir, env: keys, keysFile } = workspaces.get(count);
      const result = await planCase({ count, manifestDir, keys, keysFile, emulator, env, tempDir, targets, ...repeat(runs) });
      results.push(result);
      printResult(result, options.quick);
    }
    await emulator.stop();
  }

  const [applyCount, applyWarmups, applyRuns] = schedule.apply;
  if (wanted(`apply-${applyCount}`)) {
    const emulator = await startEmulatorProcess();
    emulators.push(emulator);
    const result = await applyCase({ count: applyCount, emulator, env, tempDir, ...repeat([applyWarmups, applyRuns]) });
    results.push(result);
    printResult(result, options.quick);
    await emulator.stop();
  }

  const missed = printSummary(results, options.quick, performance.now() - started);
  if (options.json !== undefined) {
    await writeFile(options.json, `${JSON.stringify({ quick: options.quick, node: process.version, results }, null, 2)}\n`);
  }
  if (options.check && missed > 0) process.exitCode = 1;
} finally {
  for (const emulator of emulators) await emulator.stop();
  if (options.keep) process.stdout.write(`kept ${tempDir}\n`);
  else await rm(tempDir, { recursive: true, force: true });
}
