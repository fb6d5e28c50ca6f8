import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';

import { VastClient } from '../src/api/client.js';
import type { ClientOptions, RetryEvent } from '../src/api/client.js';
import { AbortedError, ApiError, ConnectionError, OutcomeUnknownError } from '../src/api/errors.js';
import { backoffDelayMs, isSafeCall, parseRetryAfter } from '../src/api/retry.js';
import { findClosedPort, startScriptedServer } from './helpers/scripted-server.js';
import type { ScriptStep, ScriptedServer } from './helpers/scripted-server.js';

const API_KEY = 'test-key-0123456789abcdef';
const OK_STATUS = { tfa_enabled: false, methods: [], backup_codes_remaining: 0, new_method_authorized: false };
const CONFIRM = { tfa_method: 'totp', code: '123456', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' } as const;

const servers: ScriptedServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serve(script: ScriptStep[]): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  servers.push(server);
  return server;
}

function clientFor(server: { url: string }, options: Partial<ClientOptions> = {}): { client: VastClient; retries: RetryEvent[] } {
  const retries: RetryEvent[] = [];
  const client = new VastClient({ baseUrl: server.url, apiKey: API_KEY, onRetry: (event) => retries.push(event), ...options });
  return { client, retries };
}

/** Milliseconds between the arrival of request `index - 1` and request `index`. */
function gapBefore(server: ScriptedServer, index: number): number {
  const previous = server.requests[index - 1];
  const current = server.requests[index];
  assert.ok(previous !== undefined, `request ${index - 1} was not received`);
  assert.ok(current !== undefined, `request ${index} was not received`);
  return current.receivedAtMs - previous.receivedAtMs;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to reject');
}

describe('retry policy units', () => {
  test('safe calls are status and totp-setup only', () => {
    assert.equal(isSafeCall('GET', '/api/v0/tfa/status/'), true);
    assert.equal(isSafeCall('POST', '/api/v0/tfa/totp-setup/'), true);
    assert.equal(isSafeCall('POST', '/api/v0/tfa/confirm-new/'), false);
    assert.equal(isSafeCall('POST', '/api/v0/tfa/sms/'), false);
    assert.equal(isSafeCall('DELETE', '/api/v0/tfa/'), false);
  });

  test('parseRetryAfter reads seconds and dates', () => {
    const serverDate = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter('1.5'), 1500);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:28:07 GMT', serverDate), 7000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', serverDate), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('-5'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });

  test('backoff doubles from 250 ms with jitter', () => {
    assert.equal(backoffDelayMs(1, () => 0), 250);
    assert.equal(backoffDelayMs(1, () => 0.999), 500);
    assert.equal(backoffDelayMs(2, () => 0), 500);
    assert.equal(backoffDelayMs(3, () => 0), 1000);
    assert.equal(backoffDelayMs(10, () => 0.5), 8000);
  });
});

describe('Retry-After', () => {
  test('delay-seconds form is honoured', async () => {
    const server = await serve([
      { status: 503, headers: { 'retry-after': '1' }, json: { error: 'service_unavailable', msg: 'try later' } },
      { json: OK_STATUS },
    ]);
    const { client, retries } = clientFor(server);

    const status = await client.getStatus();

    assert.deepEqual(status, OK_STATUS);
    assert.equal(server.requests.length, 2);
    const gap = gapBefore(server, 1);
    assert.ok(gap >= 950, `waited ${gap} ms, expected about 1000`);
    assert.ok(gap < 1900, `waited ${gap} ms, expected about 1000`);
    assert.deepEqual(retries, [{ method: 'GET', path: '/api/v0/tfa/status/', attempt: 2, delayMs: 1000, reason: '503' }]);
  });

  test('HTTP-date form uses the server clock', async () => {
    // The server's clock runs an hour ahead: the wait must follow its Date header, not ours.
    const skewMs = 3_600_000;
    const server = await serve([
      () => {
        const serverNow = new Date(Date.now() + skewMs);
        const retryAt = new Date(serverNow.getTime() + 1000);
        return {
          status: 429,
          headers: { date: serverNow.toUTCString(), 'retry-after': retryAt.toUTCString() },
          json: { error: 'rate_limited', msg: 'slow down' },
        };
      },
      () => ({
        headers: { date: new Date(Date.now() + skewMs).toUTCString() },
        json: { msg: '2FA Sent', secret: 'challenge-token-1' },
      }),
    ]);
    const { client, retries } = clientFor(server);

    const answer = await client.sendSms({ phone_number: '+12125551234' });

    assert.equal(answer.secret, 'challenge-token-1');
    assert.equal(server.requests.length, 2);
    const gap = gapBefore(server, 1);
    assert.ok(gap >= 950, `waited ${gap} ms, expected about 1000`);
    assert.ok(gap < 1900, `waited ${gap} ms, expected about 1000`);
    assert.equal(retries[0]?.delayMs, 1000);
    assert.equal(retries[0]?.reason, '429');
    const offset = client.clockOffsetMs;
    assert.ok(offset !== undefined, 'no clock offset recorded');
    assert.ok(Math.abs(offset - skewMs) < 1500, `clock offset ${offset} ms`);
  });

  test('long wait is capped at maxRetryAfterMs', async () => {
    const server = await serve([
      { status: 503, headers: { 'retry-after': '30' }, json: { error: 'service_unavailable' } },
      { json: OK_STATUS },
    ]);
    const { client, retries } = clientFor(server, { maxRetryAfterMs: 500 });

    await client.getStatus();

    const gap = gapBefore(server, 1);
    assert.ok(gap >= 450, `waited ${gap} ms, expected about 500`);
    assert.ok(gap < 1500, `waited ${gap} ms, expected about 500`);
    assert.equal(retries[0]?.delayMs, 500);
  });

  test('wait beyond budget stops with a time', async () => {
    const server = await serve([
      { status: 429, headers: { 'retry-after': '120' }, json: { error: 'rate_limited', msg: 'too many' } },
    ]);
    const { client, retries } = clientFor(server, { maxRetryTimeMs: 5000 });
    const started = performance.now();

    const error = await rejection(client.sendEmail());

    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 429);
    assert.equal(error.apiCode, 'rate_limited');
    assert.equal(error.retryAfterMs, 120_000);
    assert.match(error.message, /retry in 120 s, more than the \d+(\.\d)? s left of the retry time budget/);
    assert.match(error.hint ?? '', /^Run again after \d{4}-\d\d-\d\dT/);
    assert.equal(server.requests.length, 1);
    assert.equal(retries.length, 0);
    assert.ok(performance.now() - started < 1000);
  });
});

describe('which failures are retried', () => {
  test('400 is never retried', async () => {
    for (const call of ['status', 'confirm'] as const) {
      const server = await serve([{ status: 400, json: { error: 'bad_request', msg: 'label is too long' } }]);
      const { client, retries } = clientFor(server);

      const error = await rejection(call === 'status' ? client.getStatus() : client.confirmNew(CONFIRM));

      assert.ok(error instanceof ApiError, call);
      assert.equal(error.status, 400, call);
      assert.equal(error.apiCode, 'bad_request', call);
      assert.equal(server.requests.length, 1, call);
      assert.equal(retries.length, 0, call);
    }
  });

  test('GET dropped after request is retried', async () => {
    const server = await serve([{ fault: 'after-request' }, { json: OK_STATUS }]);
    const { client, retries } = clientFor(server);

    const status = await client.getStatus();

    assert.deepEqual(status, OK_STATUS);
    assert.equal(server.requests.length, 2);
    assert.equal(retries.length, 1);
    assert.match(retries[0]?.reason ?? '', /^(ECONNRESET|UND_ERR_SOCKET)$/);
  });

  test('POST dropped after request is outcome unknown', async () => {
    const server = await serve([{ fault: 'after-request' }, { json: { success: true, msg: 'added' } }]);
    const { client, retries } = clientFor(server);

    const error = await rejection(client.confirmNew(CONFIRM));

    assert.ok(error instanceof OutcomeUnknownError, String(error));
    assert.equal(error.method, 'POST');
    assert.equal(error.path, '/api/v0/tfa/confirm-new/');
    assert.equal(error.status, null);
    assert.equal(error.code, 'outcome_unknown');
    assert.equal(server.requests.length, 1);
    assert.equal(retries.length, 0);
  });

  test('gateway errors on POST are outcome unknown', async () => {
    for (const status of [502, 504]) {
      const server = await serve([{ status, text: '<html><body>Gateway</body></html>' }, { json: { msg: '2FA method removed' } }]);
      const { client } = clientFor(server);

      const error = await rejection(client.deleteMethod({ backup_code: 'AAAA-BBBB-CCCC', target_id: 7 }));

      assert.ok(error instanceof OutcomeUnknownError, `${status}: ${String(error)}`);
      assert.equal(error.status, status);
      assert.equal(error.method, 'DELETE');
      assert.equal(error.path, '/api/v0/tfa/');
      assert.equal(server.requests.length, 1);
    }
  });

  test('gateway errors on GET are retried', async () => {
    const server = await serve([{ status: 502, text: 'Bad Gateway' }, { status: 504, text: 'Gateway Timeout' }, { json: OK_STATUS }]);
    const { client, retries } = clientFor(server);

    await client.getStatus();

    assert.equal(server.requests.length, 3);
    assert.deepEqual(retries.map((event) => event.reason), ['502', '504']);
    assert.deepEqual(retries.map((event) => event.attempt), [2, 3]);
  });

  test('503 on POST is retried with the same body', async () => {
    const server = await serve([
      { status: 503, json: { error: 'service_unavailable', msg: 'maintenance' } },
      { json: { success: true, msg: 'TOTP 2FA method added successfully.' } },
    ]);
    const { client, retries } = clientFor(server);

    const answer = await client.confirmNew(CONFIRM);

    assert.equal(answer.msg, 'TOTP 2FA method added successfully.');
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]?.body, server.requests[0]?.body);
    assert.deepEqual(JSON.parse(server.requests[1]?.body ?? ''), CONFIRM);
    assert.equal(retries[0]?.reason, '503');
    const delayMs = retries[0]?.delayMs ?? 0;
    assert.ok(delayMs >= 250, `first backoff ${delayMs} ms`);
    assert.ok(delayMs <= 500, `first backoff ${delayMs} ms`);
  });

  test('tfa_locked is not retried', async () => {
    const lockedUntil = 1_900_000_000;
    const server = await serve([
      { status: 429, headers: { 'retry-after': '1' }, json: { error: 'tfa_locked', msg: 'Too many failed attempts', fail_count: 5, locked_until: lockedUntil } },
      { json: { msg: 'success', backup_codes: [] } },
    ]);
    const { client, retries } = clientFor(server);

    const error = await rejection(client.regenerateBackupCodes({ tfa_method: 'totp', code: '654321' }));

    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 429);
    assert.equal(error.apiCode, 'tfa_locked');
    assert.equal(error.body.fail_count, 5);
    assert.ok(error.message.includes(new Date(lockedUntil * 1000).toISOString()), error.message);
    assert.equal(server.requests.length, 1);
    assert.equal(retries.length, 0);
  });

  test('sms_rate_limited is not retried', async () => {
    const server = await serve([
      { status: 429, headers: { 'retry-after': '1' }, json: { error: 'sms_rate_limited', msg: 'at most 5 per hour' } },
      { json: { msg: '2FA Sent', secret: 'challenge' } },
    ]);
    const { client, retries } = clientFor(server);

    const error = await rejection(client.sendSms({ phone_number: '+12125551234' }));

    assert.ok(error instanceof ApiError);
    assert.equal(error.apiCode, 'sms_rate_limited');
    assert.equal(server.requests.length, 1);
    assert.equal(retries.length, 0);
  });

  test('refused POST is retried until it connects', async () => {
    // Nothing listens on the port at first; the server starts there after the first refusal.
    const port = await findClosedPort();
    let started: Promise<ScriptedServer> | undefined;
    const client = new VastClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: API_KEY,
      onRetry: () => {
        started ??= startScriptedServer([{ json: { success: true, msg: 'Authorization successful.' } }], { port });
      },
    });

    const answer = await client.completeAuthorization({ secret: 'challenge-token-2', code: '111111' });

    assert.ok(started !== undefined, 'the client did not retry after ECONNREFUSED');
    const server = await started;
    servers.push(server);
    assert.equal(answer.msg, 'Authorization successful.');
    assert.equal(server.requests.length, 1);
  });

  test('timeout on GET is retried', async () => {
    const server = await serve([{ fault: 'hang' }, { json: OK_STATUS }]);
    const { client, retries } = clientFor(server, { requestTimeoutMs: 300 });

    await client.getStatus();

    assert.equal(server.requests.length, 2);
    assert.equal(retries[0]?.reason, 'timeout');
  });

  test('timeout on POST is outcome unknown', async () => {
    const server = await serve([{ fault: 'hang' }, { json: { success: true, msg: 'updated' } }]);
    const { client } = clientFor(server, { requestTimeoutMs: 300 });

    const error = await rejection(client.updateMethod({ tfa_method_id: 3, label: 'laptop' }));

    assert.ok(error instanceof OutcomeUnknownError, String(error));
    assert.equal(error.reason, 'timeout');
    assert.equal(error.method, 'PUT');
    assert.equal(server.requests.length, 1);
  });

  test('unreadable 2xx on POST is outcome unknown', async () => {
    const server = await serve([{ status: 200, text: '{"msg": "success", "backup_co' }]);
    const { client } = clientFor(server);

    const error = await rejection(client.regenerateBackupCodes({ backup_code: 'AAAA-BBBB-CCCC' }));

    assert.ok(error instanceof OutcomeUnknownError, String(error));
    assert.equal(error.status, 200);
    assert.equal(server.requests.length, 1);
  });

  test('unreadable 2xx on GET is not retried', async () => {
    const server = await serve([{ status: 200, text: '<html>captive portal</html>' }, { json: OK_STATUS }]);
    const { client } = clientFor(server);

    const error = await rejection(client.getStatus());

    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.apiCode, 'invalid_response');
    assert.match(error.message, /captive portal/);
    assert.equal(server.requests.length, 1);
  });
});

describe('retry budget', () => {
  test('retries count bounds the attempts', async () => {
    const unavailable = { status: 503, json: { error: 'service_unavailable', msg: 'down' } };
    const server = await serve([unavailable, unavailable, unavailable, unavailable]);
    const { client, retries } = clientFor(server, { retries: 2 });

    const error = await rejection(client.getStatus());

    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 503);
    assert.equal(error.attempts, 3);
    assert.match(error.message, /^GET \/api\/v0\/tfa\/status\/ failed after 3 attempts: 503 service_unavailable: down/);
    assert.equal(server.requests.length, 3);
    assert.equal(retries.length, 2);
  });

  test('zero retries makes one attempt', async () => {
    const server = await serve([{ status: 503, json: { error: 'service_unavailable' } }, { json: OK_STATUS }]);
    const { client } = clientFor(server, { retries: 0 });

    const error = await rejection(client.getStatus());

    assert.ok(error instanceof ApiError);
    assert.match(error.message, /failed after 1 attempt: 503/);
    assert.equal(server.requests.length, 1);
  });

  test('maxRetryTimeMs bounds the time', async () => {
    const unavailable = { status: 503, json: { error: 'service_unavailable' } };
    const server = await serve(Array.from({ length: 20 }, () => unavailable));
    const { client } = clientFor(server, { retries: 20, maxRetryTimeMs: 1200 });
    const started = performance.now();

    const error = await rejection(client.getStatus());

    const elapsed = performance.now() - started;
    assert.ok(error instanceof ApiError);
    assert.ok(elapsed < 1200 + 500, `took ${elapsed} ms`);
    assert.ok(server.requests.length >= 2, `${server.requests.length} requests`);
    assert.ok(server.requests.length <= 4, `${server.requests.length} requests`);
    assert.equal(error.attempts, server.requests.length);
  });

  test('refused connection reports the attempts', async () => {
    const port = await findClosedPort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const { client, retries } = clientFor({ url: baseUrl }, { retries: 1 });

    const error = await rejection(client.getStatus());

    assert.ok(error instanceof ConnectionError, String(error));
    assert.equal(error.reason, 'ECONNREFUSED');
    assert.equal(error.requestSent, 'no');
    assert.equal(error.attempts, 2);
    assert.ok(error.message.includes(baseUrl), error.message);
    assert.match(error.message, /\(2 attempts\)/);
    assert.match(error.hint ?? '', /--url or VAST_URL/);
    assert.equal(retries.length, 1);
  });
});

describe('abort signal', () => {
  test('abort during a 30 s Retry-After wait', async () => {
    const server = await serve([{ status: 503, headers: { 'retry-after': '30' }, json: { error: 'service_unavailable' } }]);
    const controller = new AbortController();
    const { client } = clientFor(server, { signal: controller.signal });
    const started = performance.now();
    setTimeout(() => controller.abort(), 200);

    const error = await rejection(client.getStatus());

    const elapsed = performance.now() - started;
    assert.ok(error instanceof AbortedError, String(error));
    assert.equal(error.code, 'aborted');
    assert.equal(error.requestMayHaveBeenSent, false);
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
    assert.equal(server.requests.length, 1);
  });

  test('abort during a POST in flight', async () => {
    const server = await serve([{ fault: 'hang' }]);
    const controller = new AbortController();
    const { client } = clientFor(server, { signal: controller.signal });
    const started = performance.now();
    setTimeout(() => controller.abort(), 200);

    const error = await rejection(client.confirmNew(CONFIRM));

    const elapsed = performance.now() - started;
    assert.ok(error instanceof AbortedError, String(error));
    assert.equal(error.requestMayHaveBeenSent, true);
    assert.equal(error.exitCode, 130);
    assert.match(error.message, /may have acted on it/);
    assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  });

  test('aborted signal sends nothing', async () => {
    const server = await serve([{ json: OK_STATUS }]);
    const controller = new AbortController();
    controller.abort();
    const { client } = clientFor(server, { signal: controller.signal });

    const error = await rejection(client.getStatus());

    assert.ok(error instanceof AbortedError, String(error));
    assert.equal(server.requests.length, 0);
  });
});
