import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, test } from 'node:test';

import { createFaultInjector, parseFaultSpec, type FaultInjector } from '../src/emulator/faults.js';
import type { RunningEmulator } from '../src/emulator/index.js';
import { authorizeByEmail, callApi, createAccount, emulatorNow, totpCode, withEmulator } from './helpers/emulator.js';

/** Runs `fn` against an emulator that injects the faults of `spec`. */
async function withFaults<T>(spec: string, fn: (emu: RunningEmulator, injector: FaultInjector, log: string[]) => Promise<T>): Promise<T> {
  const log: string[] = [];
  const injector = createFaultInjector(parseFaultSpec(spec), (line) => log.push(line));
  return withEmulator((emu) => fn(emu, injector, log), { middlewares: [injector.middleware] });
}

/** Calls the API and returns the status, or 'dropped' when the connection closed without a response. */
async function statusOf(url: string, apiKey: string, method: string, path: string, body?: unknown): Promise<number | 'dropped'> {
  try {
    return (await callApi(url, apiKey, method, path, body)).status;
  } catch (error) {
    assert.ok(error instanceof TypeError, `expected a network error, got ${String(error)}`);
    return 'dropped';
  }
}

/** Sends totp-setup and confirm-new for a new TOTP method labelled `label`; returns confirm-new's outcome. */
async function confirmTotp(url: string, apiKey: string, label: string): Promise<number | 'dropped'> {
  const setup = await callApi(url, apiKey, 'POST', '/api/v0/tfa/totp-setup/', {});
  assert.equal(setup.status, 200);
  const code = await totpCode(setup.body.secret, await emulatorNow(url));
  return statusOf(url, apiKey, 'POST', '/api/v0/tfa/confirm-new/', { tfa_method: 'totp', secret: setup.body.secret, code, label });
}

function methodLabels(emu: RunningEmulator, accountId: number): Array<string | null> {
  const account = emu.snapshot().accounts.find((a) => a.id === accountId);
  assert.ok(account !== undefined, `account ${accountId} exists`);
  return account.methods.map((m) => m.label);
}

describe('fault injection middleware', () => {
  test('503 on every API call', async () => {
    await withFaults('503=1:retry-after=7', async (emu, injector) => {
      // The emulator's own endpoints are never faulted, so accounts can still be made.
      const account = await createAccount(emu.url);
      const response = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');

      assert.equal(response.status, 503);
      assert.equal(response.body.error, 'service_unavailable');
      assert.equal(response.headers.get('retry-after'), '7');
      assert.equal(injector.counts().faults['503'], 1);
      assert.equal(injector.counts().requests, 1);
    });
  });

  test('429 sends Retry-After 1 by default', async () => {
    await withFaults('429=100%', async (emu) => {
      const account = await createAccount(emu.url);
      const response = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/email/', {});

      assert.equal(response.status, 429);
      assert.equal(response.body.error, 'rate_limited');
      assert.equal(response.headers.get('retry-after'), '1');
      assert.ok(response.headers.get('date') !== null, 'a faulted response still has a Date header');
    });
  });

  test('drop before the handler changes nothing', async () => {
    await withFaults('drop-before=1@confirm-new', async (emu, injector, log) => {
      const account = await createAccount(emu.url);
      await authorizeByEmail(emu.url, account.apiKey);

      const outcome = await confirmTotp(emu.url, account.apiKey, 'ci-bot');

      assert.equal(outcome, 'dropped');
      assert.deepEqual(methodLabels(emu, account.id), []);
      assert.equal(injector.counts().faults['drop-before'], 1);
      assert.ok(log.some((line) => line === 'fault_injected: kind=drop-before method=POST path=/api/v0/tfa/confirm-new/'), log.join('\n'));
    });
  });

  test('drop after commit keeps the change', async () => {
    await withFaults('drop-after-commit=1@confirm-new', async (emu, injector) => {
      const account = await createAccount(emu.url);
      await authorizeByEmail(emu.url, account.apiKey);

      const outcome = await confirmTotp(emu.url, account.apiKey, 'ci-bot');

      assert.equal(outcome, 'dropped');
      assert.deepEqual(methodLabels(emu, account.id), ['ci-bot']);
      const live = emu.snapshot().accounts.find((a) => a.id === account.id);
      assert.equal(live?.backup_codes.length, 10, 'the first method issued backup codes that nobody received');
      assert.equal(injector.counts().faults['drop-after-commit'], 1);
    });
  });

  test('later entry overrides per endpoint', async () => {
    await withFaults('503=1;503=0@totp-setup', async (emu) => {
      const account = await createAccount(emu.url);

      assert.equal(await statusOf(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/'), 503);
      assert.equal(await statusOf(emu.url, account.apiKey, 'POST', '/api/v0/tfa/totp-setup/', {}), 200);
    });
  });

  test('same seed replays the same faults', async () => {
    const spec = 'seed=1234;503=0.3;429=0.2;drop-before=0.1';
    const runOnce = () =>
      withFaults(spec, async (emu, injector) => {
        const account = await createAccount(emu.url);
        const outcomes: Array<number | 'dropped'> = [];
        for (let i = 0; i < 40; i += 1) outcomes.push(await statusOf(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/'));
        return { outcomes, counts: injector.counts() };
      });

    const first = await runOnce();
    const second = await runOnce();

    assert.deepEqual(second.outcomes, first.outcomes);
    assert.deepEqual(second.counts, first.counts);
    // With these rates, 40 requests without any fault, or without any success, would mean the draws do not work.
    assert.ok(first.outcomes.includes(200), 'some requests succeed');
    assert.ok(first.outcomes.some((outcome) => outcome !== 200), 'some requests are faulted');
    const faulted = first.counts.faults['503'] + first.counts.faults['429'] + first.counts.faults['drop-before'];
    assert.equal(faulted, first.outcomes.filter((outcome) => outcome !== 200).length);
  });

  test('latency delays each request', async () => {
    await withFaults('latency=150ms@status', async (emu, injector) => {
      const account = await createAccount(emu.url);
      const started = performance.now();
      const response = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
      const elapsed = performance.now() - started;

      assert.equal(response.status, 200);
      assert.ok(elapsed >= 140, `took ${Math.round(elapsed)} ms`);
      assert.ok(Math.abs(injector.counts().latencyMs - 150) < 1);
    });
  });
});
