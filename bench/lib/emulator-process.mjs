/**
 * The benchmark's emulator, run as its own process so that its CPU time never mixes with the
 * tool's. Usage: node emulator-process.mjs [STATE_FILE]. It prints `listening on URL`, then
 * writes one JSON line in reply to each command read on stdin:
 *   stats  requests per API key and per path, handler time, and this process's CPU time
 *   reset  zeroes the counters
 * It exits when stdin closes.
 */

import { createInterface } from 'node:readline';

import { distModule } from './paths.mjs';

const { startEmulator } = await import(distModule('src/emulator/index.js'));

const statePath = process.argv[2];
let counters = newCounters();

function newCounters() {
  return { requests: 0, byKey: {}, byPath: {}, handlerNs: 0n, cpu: process.cpuUsage(), since: performance.now() };
}

/**
 * Counts each request by its bearer key and path, and times its handler. The handler runs
 * synchronously inside `next()`, so the time around that call is the handler's own.
 */
const countingMiddleware = (request, route, next) => {
  counters.requests += 1;
  const key = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? '')?.[1];
  if (key !== undefined && request.path.startsWith('/api/')) counters.byKey[key] = (counters.byKey[key] ?? 0) + 1;
  const name = `${request.method} ${request.path}`;
  counters.byPath[name] = (counters.byPath[name] ?? 0) + 1;

  const started = process.hrtime.bigint();
  const reply = next();
  counters.handlerNs += process.hrtime.bigint() - started;
  return reply;
};

const emulator = await startEmulator({ port: 0, ...(statePath ? { statePath } : {}), middlewares: [countingMiddleware] });
process.stdout.write(`listening on ${emulator.url}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = line.trim();
  if (command === 'reset') {
    counters = newCounters();
    process.stdout.write('{"ok":true}\n');
  } else if (command === 'stats') {
    const cpu = process.cpuUsage(counters.cpu);
    const stats = {
      requests: counters.requests,
      byKey: counters.byKey,
      byPath: counters.byPath,
      handlerMs: Number(counters.handlerNs) / 1e6,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - counters.since,
    };
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  } else {
    process.stdout.write(`${JSON.stringify({ error: `unknown command "${command}"` })}\n`);
  }
});
lines.on('close', () => {
  emulator.close().then(() => process.exit(0));
});
