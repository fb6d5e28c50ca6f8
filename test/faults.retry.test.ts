import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';

import { VastClient } from '../src/api/client.js';
import type { RetryEvent } from '../src/api/client.js';
import { createFaultInjector, parseFaultSpec } from '../src/emulator/faults.js';
import { spawnCli } from './helpers/crash.js';
import { createAccount, withEmulator } from './helpers/emulator.js';
import { startScriptedServer } from './helpers/scripted-server.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const API_KEY = 'test-key-0123456789abcdef';
const OK_STATUS = { tfa_enabled: false, methods: [], backup_codes_remaining: 0, new_method_authorized: false };

describe('retry rules, further cases', () => {
  test('Retry-After date is capped too', async () => {
    const server = await startScriptedServer([
      () => {
        const now = new Date();
        return {
          status: 503,
          headers: { date: now.toUTCString(), 'retry-after': new Date(now.getTime() + 40_000).toUTCString() },
          json: { error: 'service_unavailable' },
        };
      },
      { json: OK_STATUS },
    ]);
    try {
      const retries: RetryEvent[] = [];
      const client = new VastClient({ baseUrl: server.url, apiKey: API_KEY, maxRetryAfterMs: 400, onRetry: (event) => retries.push(event) });
      const started = performance.now();

      await client.getStatus();

      const elapsed = performance.now() - started;
      assert.equal(retries.length, 1);
      assert.equal(retries[0]?.delayMs, 400, 'a wait of about 40 s was cut to the 400 ms cap');
      assert.ok(elapsed < 2000, `took ${Math.round(elapsed)} ms`);
      assert.equal(server.requests.length, 2);
    } finally {
      await server.close();
    }
  });

  test('GET reset with ECONNRESET is retried', async () => {
    // The first connection is reset (TCP RST), which the client sees as ECONNRESET.
    let requests = 0;
    const server = createServer((request, response) => {
      requests += 1;
      if (requests === 1) {
        request.socket.resetAndDestroy();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(OK_STATUS));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const retries: RetryEvent[] = [];
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = new VastClient({ baseUrl: url, apiKey: API_KEY, onRetry: (event) => retries.push(event) });

      const status = await client.getStatus();

      assert.deepEqual(status, OK_STATUS);
      assert.equal(requests, 2);
      assert.equal(retries.length, 1);
      assert.equal(retries[0]?.reason, 'ECONNRESET');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('emulator faults on GET are retried', async () => {
    // The first status read gets a 503, the second a dropped connection, the third succeeds.
    const unavailable = createFaultInjector(parseFaultSpec('503=1@status'));
    const dropped = createFaultInjector(parseFaultSpec('drop-before=1@status'));
    const faults = [unavailable.middleware, dropped.middleware];
    await withEmulator(
      async (emu) => {
        const account = await createAccount(emu.url);
        const retries: RetryEvent[] = [];
        const client = new VastClient({ baseUrl: emu.url, apiKey: account.apiKey, onRetry: (event) => retries.push(event) });

        const status = await client.getStatus();

        assert.equal(status.tfa_enabled, false);
        assert.equal(retries.length, 2);
        assert.equal(retries[0]?.reason, '503');
        assert.match(retries[1]?.reason ?? '', /^(ECONNRESET|UND_ERR_SOCKET)$/);
      },
      {
        middlewares: [
          (request, route, next) => {
            const fault = route.path.startsWith('/api/') ? faults.shift() : undefined;
            return fault === undefined ? next() : fault(request, route, next);
          },
        ],
      },
    );
  });

  test('Ctrl-C stops a Retry-After wait at once', async () => {
    // Every status read gets 429 with Retry-After: 30, so the CLI waits 30 s before retrying.
    const injector = createFaultInjector(parseFaultSpec('seed=1;429=1:retry-after=30@status'));
    await withEmulator(
      async (emu) => {
        const account = await createAccount(emu.url);
        const dir = await makeWorkspace(manifestFor('      - { label: ci-bot, type: totp }'));
        const child = spawnCli(['plan'], { cwd: dir, env: { VAST_URL: emu.url, TEST_API_KEY: account.apiKey } });

        // Wait until the first 429 went out, then interrupt as Ctrl-C would.
        while (injector.counts().faults['429'] === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        await new Promise((resolve) => setTimeout(resolve, 200));
        const interrupted = performance.now();
        process.kill(child.pid, 'SIGINT');
        const result = await child.exited;
        const elapsed = performance.now() - interrupted;

        assert.ok(elapsed < 2000, `the CLI took ${Math.round(elapsed)} ms to stop`);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /aborted/);
        assert.equal(injector.counts().faults['429'], 1, 'no second request was sent');
      },
      { middlewares: [injector.middleware] },
    );
  });
});
