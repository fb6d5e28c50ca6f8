#!/usr/bin/env node
// The installed command: wires the real process into the CLI and sets the exit code.
import { readFileSync, statSync } from 'node:fs';
import { setMaxListeners } from 'node:events';

/**
 * Returns the module to run: the bundle that `npm run build` makes, which starts faster, when
 * it is at least as new as tsc's output. After a bare `tsc` the bundle would run older code,
 * so the compiled modules run instead.
 */
function entryModule() {
  const bundle = new URL('../dist/bundle/main.js', import.meta.url);
  const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
  const bundleTime = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
  const compiledTime = statSync(compiled, { throwIfNoEntry: false })?.mtimeMs;
  const bundleIsCurrent = bundleTime !== undefined && (compiledTime === undefined || bundleTime >= compiledTime);
  return bundleIsCurrent ? bundle.href : compiled.href;
}

/**
 * Returns a plain copy of the environment. Each read of the live process.env is a getenv()
 * call, which scans the environment entry by entry, and the yaml parser reads
 * process.env.LOG_TOKENS once per token: with one API key variable per account, parsing a
 * large manifest took seconds. Copying process.env itself reads every variable that way
 * (0.64 s for 10,000 variables), so on Linux the copy comes from /proc/self/environ, which
 * holds the environment the process started with, unchanged until now.
 */
function environmentCopy() {
  if (process.platform === 'linux') {
    try {
      const env = {};
      for (const entry of readFileSync('/proc/self/environ', 'utf8').split('\0')) {
        const equals = entry.indexOf('=');
        const name = entry.slice(0, equals);
        // getenv() returns the first of two entries with one name, so the first one is kept.
        if (equals > 0 && !Object.hasOwn(env, name)) env[name] = entry.slice(equals + 1);
      }
      return env;
    } catch {
      // Without /proc, copy through process.env.
    }
  }
  return { ...process.env };
}

process.env = environmentCopy();

const { run } = await import(entryModule());

const controller = new AbortController();
// Every request in flight listens on this signal, and --parallelism allows up to 256 of them.
setMaxListeners(0, controller.signal);
let interrupted = false;
const onSignal = (name) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort(new Error(`interrupted by ${name}`));
};
process.on('SIGINT', () => onSignal('SIGINT'));
// A reader that stops early (`| head`) closes the pipe. An apply must still finish its account
// and release its lock, so later writes to that stream are dropped instead of crashing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
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
