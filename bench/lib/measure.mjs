/** Runs a measured child process: its wall time, exit code, output, peak memory and CPU time. */

import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { ROOT } from './paths.mjs';

const USAGE_PRELOAD = join(ROOT, 'bench', 'lib', 'usage-preload.mjs');

/** Time after which a measured process is killed and the benchmark fails. */
const TIMEOUT_MS = 180_000;

let usageFiles = 0;

/**
 * Runs `node ...args` and resolves with its wall time in milliseconds, from spawning to exit,
 * with its exit code and output. With `usage`, a preload reports the process's peak resident
 * memory and CPU time at exit, in `maxRssBytes` and `cpuMs`; it costs both sides of a
 * comparison the same fraction of a millisecond. Rejects when the process does not exit
 * within TIMEOUT_MS.
 */
export async function runNode(args, { cwd, env, usage = false, tempDir }) {
  const usageFile = usage ? join(tempDir, `usage-${process.pid}-${usageFiles++}.json`) : undefined;
  const fullArgs = usage ? ['--import', USAGE_PRELOAD, ...args] : args;
  const childEnv = usageFile ? { ...env, BENCH_USAGE_FILE: usageFile } : env;

  const started = performance.now();
  const child = spawn(process.execPath, fullArgs, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));

  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not finish within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  const ms = performance.now() - started;

  let reported = {};
  if (usageFile) {
    reported = JSON.parse(await readFile(usageFile, 'utf8').catch(() => '{}'));
    await rm(usageFile, { force: true });
  }
  return { ms, code, stdout, stderr, maxRssBytes: reported.maxRssBytes, cpuMs: reported.cpuMs };
}

/** Throws when a measured run failed, with the end of its output, so a broken case stops the benchmark. */
export function expectSuccess(result, what, expectedCode = 0) {
  if (result.code === expectedCode) return;
  const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-8).join('\n');
  throw new Error(`${what} exited with code ${result.code}, expected ${expectedCode}:\n${tail}`);
}
