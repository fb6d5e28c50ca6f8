import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EmulatorListenError, startEmulator } from '../src/emulator/index.js';
import { ApiError } from '../src/emulator/errors.js';
import { callApi, createAccount, readState, withEmulator } from './helpers/emulator.js';

/** 2030-01-01T00:00:10Z: 10 seconds into a TOTP step. */
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const fixedClock = { now: () => START_MS };

test('unknown path is not_found', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    for (const path of ['/api/v0/tfa/nothing/', '/api/v0/tfa/status', '/_emulator/nothing', '/']) {
      const response = await callApi(emu.url, account.apiKey, 'GET', path);
      assert.equal(response.status, 404, path);
      assert.equal(response.body.error, 'not_found', path);
      assert.equal(typeof response.body.msg, 'string', path);
    }
  });
});

test('known path with another method is 405', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const response = await callApi(emu.url, account.apiKey, 'DELETE', '/api/v0/tfa/status/');
    assert.equal(response.status, 405);
    assert.equal(response.body.error, 'method_not_allowed');
    assert.equal(response.headers.get('allow'), 'GET');

    const authorize = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/authorize-new-method/');
    assert.equal(authorize.status, 405);
    assert.equal(authorize.headers.get('allow'), 'POST, PUT');
  });
});

test('missing or unknown key is auth_error', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const missing = await callApi(emu.url, undefined, 'GET', '/api/v0/tfa/status/');
    assert.equal(missing.status, 403);
    assert.equal(missing.body.error, 'auth_error');

    const unknown = await callApi(emu.url, 'not-a-key-of-anyone-0000', 'GET', '/api/v0/tfa/status/');
    assert.equal(unknown.status, 403);
    assert.equal(unknown.body.error, 'auth_error');
    assert.ok(!JSON.stringify(unknown.body).includes('not-a-key-of-anyone'), 'the message shows at most the last 4 characters');

    const basic = await fetch(new URL('/api/v0/tfa/status/', emu.url), { headers: { Authorization: `Basic ${account.apiKey}` } });
    assert.equal(basic.status, 403);

    const outbox = await callApi(emu.url, undefined, 'GET', '/_emulator/outbox');
    assert.equal(outbox.status, 403);
    assert.equal(outbox.body.error, 'auth_error');

    const good = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(good.status, 200);
  });
});

test('malformed bodies are bad_request', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const cases: Array<[string, string, string, unknown]> = [
      ['invalid JSON', 'POST', '/api/v0/tfa/authorize-new-method/', '{"tfa_method": '],
      ['array body', 'POST', '/api/v0/tfa/authorize-new-method/', '[]'],
      ['unknown tfa_method', 'POST', '/api/v0/tfa/authorize-new-method/', { tfa_method: 'fax' }],
      ['numeric code', 'POST', '/api/v0/tfa/', { tfa_method: 'totp', code: 123456 }],
      ['string id', 'PUT', '/api/v0/tfa/update/', { tfa_method_id: '1', label: 'x' }],
      ['null secret', 'PUT', '/api/v0/tfa/authorize-new-method/', { secret: null, code: '123456' }],
      ['boolean label', 'PUT', '/api/v0/tfa/update/', { tfa_method_id: 1, label: true }],
      ['bad phone number', 'POST', '/api/v0/tfa/sms/', { phone_number: '2125551234' }],
      ['oversized code', 'POST', '/api/v0/tfa/', { tfa_method: 'totp', code: '1'.repeat(65) }],
    ];

    for (const [name, method, path, body] of cases) {
      const response = await callApi(emu.url, account.apiKey, method, path, body);
      assert.equal(response.status, 400, name);
      assert.equal(response.body.error, 'bad_request', name);
    }
  });
});

test('oversized body is bad_request', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const response = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/totp-setup/', { padding: 'x'.repeat(70_000) });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'bad_request');
    assert.match(response.body.msg, /65536 bytes/);
  });
});

test('Date header follows the clock offset', async () => {
  await withEmulator(async (emu) => {
    const before = await callApi(emu.url, undefined, 'GET', '/_emulator/state');
    assert.equal(before.headers.get('date'), new Date(START_MS).toUTCString());
    assert.equal(before.body.now, START_MS / 1000);

    const set = await callApi(emu.url, undefined, 'POST', '/_emulator/clock', { offset_seconds: 3600 });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { offset_seconds: 3600, now: START_MS / 1000 + 3600 });
    assert.equal(set.headers.get('date'), new Date(START_MS + 3_600_000).toUTCString());

    const account = await createAccount(emu.url);
    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.headers.get('date'), new Date(START_MS + 3_600_000).toUTCString());

    const notFound = await callApi(emu.url, account.apiKey, 'GET', '/nowhere');
    assert.equal(notFound.headers.get('date'), new Date(START_MS + 3_600_000).toUTCString());
  }, fixedClock);
});

test('clock offset is set, not added', async () => {
  await withEmulator(async (emu) => {
    await callApi(emu.url, undefined, 'POST', '/_emulator/clock', { offset_seconds: 600 });
    const second = await callApi(emu.url, undefined, 'POST', '/_emulator/clock', { offset_seconds: 60 });
    assert.equal(second.body.now, START_MS / 1000 + 60);

    emu.setClockOffset(-30);
    assert.equal(emu.snapshot().now, START_MS / 1000 - 30);
    assert.equal(emu.snapshot().clock_offset_seconds, -30);

    const invalid = await callApi(emu.url, undefined, 'POST', '/_emulator/clock', { offset_seconds: '60' });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error, 'bad_request');
  }, fixedClock);
});

test('accounts get defaults and a fresh key', async () => {
  await withEmulator(async (emu) => {
    const first = await createAccount(emu.url);
    const second = await createAccount(emu.url, 'ops@example.com', false);

    assert.equal(first.email, `user${first.id}@example.com`);
    assert.match(first.apiKey, /^[A-Za-z0-9_-]{32,}$/);
    assert.notEqual(first.apiKey, second.apiKey);
    assert.notEqual(first.id, second.id);

    const state = await readState(emu.url);
    const stored = state.accounts.find((account: { id: number }) => account.id === second.id);
    assert.equal(stored.email, 'ops@example.com');
    assert.equal(stored.email_verified, false);
    assert.equal(stored.api_key, second.apiKey);
    assert.equal(state.accounts.find((account: { id: number }) => account.id === first.id).email_verified, true);

    const invalid = await callApi(emu.url, undefined, 'POST', '/_emulator/accounts', { email: 'no-at-sign' });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error, 'bad_request');
  });
});

test('outbox shows only the caller account', async () => {
  await withEmulator(async (emu) => {
    const alice = await createAccount(emu.url, 'alice@example.com');
    const bob = await createAccount(emu.url, 'bob@example.com');
    await callApi(emu.url, alice.apiKey, 'POST', '/api/v0/tfa/email/', {});
    await callApi(emu.url, bob.apiKey, 'POST', '/api/v0/tfa/email/', {});
    await callApi(emu.url, alice.apiKey, 'POST', '/api/v0/tfa/email/', {});

    const response = await callApi(emu.url, alice.apiKey, 'GET', '/_emulator/outbox');
    assert.equal(response.status, 200);
    assert.equal(response.body.messages.length, 2);
    for (const message of response.body.messages) {
      assert.deepEqual(Object.keys(message).sort(), ['channel', 'code', 'sent_at', 'to']);
      assert.equal(message.channel, 'email');
      assert.equal(message.to, 'alice@example.com');
      assert.match(message.code, /^[0-9]{6}$/);
    }
  });
});

test('handler crash is a logged 500', async () => {
  const lines: string[] = [];
  const emu = await startEmulator({
    onLog: (line) => lines.push(line),
    middlewares: [
      async (request, _route, next) => {
        if (request.path === '/api/v0/tfa/email/') throw new Error('injected failure');
        return next();
      },
    ],
  });
  try {
    const account = await createAccount(emu.url);
    const response = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/email/', {});
    assert.equal(response.status, 500);
    assert.equal(response.body.error, 'internal_error');
    assert.ok(lines.some((line) => line.startsWith('request_failed:') && line.includes('injected failure')));

    const after = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(after.status, 200, 'the emulator keeps serving');
    assert.ok(lines.every((line) => !line.includes(account.apiKey)), 'no log line holds the API key');
  } finally {
    await emu.close();
  }
});

test('middleware can respond instead of handler', async () => {
  const emu = await startEmulator({
    middlewares: [
      async (request, route, next) => {
        if (route.path !== '/api/v0/tfa/status/') return next();
        const error = new ApiError('service_unavailable', 'Injected outage.');
        return { status: error.status, body: { error: error.code, msg: error.message, path: request.path } };
      },
    ],
  });
  try {
    const account = await createAccount(emu.url);
    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.status, 503);
    assert.equal(status.body.error, 'service_unavailable');
    assert.ok(status.headers.get('date'));

    const email = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/email/', {});
    assert.equal(email.status, 200);
  } finally {
    await emu.close();
  }
});

test('close ends idle keep-alive sockets', async () => {
  const emu = await startEmulator();
  await createAccount(emu.url);

  const started = Date.now();
  await emu.close();
  assert.ok(Date.now() - started < 2000, 'close did not wait for the keep-alive timeout');

  await assert.rejects(fetch(new URL('/_emulator/state', emu.url)));
});

test('busy port is EmulatorListenError', async () => {
  const first = await startEmulator();
  try {
    await assert.rejects(startEmulator({ port: first.port }), (error: unknown) => {
      assert.ok(error instanceof EmulatorListenError);
      assert.equal(error.code, 'emulator_listen_failed');
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${first.port}`));
      assert.match(error.message, /EADDRINUSE/);
      return true;
    });
  } finally {
    await first.close();
  }
});
