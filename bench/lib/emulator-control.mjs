/** Starts the benchmark's emulator process and sends it commands. */

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { ROOT } from './paths.mjs';

const SCRIPT = join(ROOT, 'bench', 'lib', 'emulator-process.mjs');

/**
 * Starts the emulator in a child process, loading `statePath` when given. Resolves with its
 * URL, `command(name)` that resolves with the parsed reply line, and `stop()`.
 */
export async function startEmulatorProcess(statePath) {
  const child = spawn(process.execPath, [SCRIPT, ...(statePath ? [statePath] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  let exited = false;

  const nextLine = () =>
    new Promise((resolve, reject) => {
      if (exited) reject(new Error('the emulator process has exited'));
      else waiting.push({ resolve, reject });
    });
  lines.on('line', (line) => waiting.shift()?.resolve(line));
  child.once('exit', (code) => {
    exited = true;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`the emulator process exited with code ${code}`));
  });

  const first = await nextLine();
  const url = /^listening on (\S+)$/.exec(first)?.[1];
  if (!url) throw new Error(`unexpected first line from the emulator process: ${first}`);

  return {
    url,
    pid: child.pid,
    async command(name) {
      const reply = nextLine();
      child.stdin.write(`${name}\n`);
      return JSON.parse(await reply);
    },
    stop() {
      if (exited) return Promise.resolve();
      return new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      });
    },
  };
}
