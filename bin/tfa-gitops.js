#!/usr/bin/env node
// The installed command: wires the real process into the CLI and sets the exit code.
import { run } from '../dist/src/cli/main.js';

const controller = new AbortController();
let interrupted = false;
const onSignal = (name) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort(new Error(`interrupted by ${name}`));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

const code = await run(
  process.argv.slice(2),
  {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    signal: controller.signal,
  },
  Boolean(process.stdout.isTTY),
);
process.exitCode = code;
