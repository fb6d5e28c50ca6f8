import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';

import { VastClient } from '../src/api/client.js';
import type { ClientOptions, Exchange } from '../src/api/client.js';
import { ApiError, ConnectionError } from '../src/api/errors.js';
import { REDACTED, collectSecrets, findLeakedSecrets } from '../src/api/redact.js';
import { TfaError } from '../src/errors.js';
import { findClosedPort, startScriptedServer } from './helpers/scripted-server.js';
import type { ScriptStep, ScriptedServer } from './helpers/scripted-server.js';

const API_KEY = 'vast-key-0123456789abcdefa3f9';

const servers: ScriptedServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serve(script: ScriptStep[]): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  servers.push(server);
  return server;
}

function clientFor(server: { url: string }, options: Partial<ClientOptions> = {}): VastClient {
  return new VastClient({ baseUrl: server.url, apiKey: API_KEY, retries: 0, ...options });
}

async function apiErrorFrom(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to reject');
}

describe('ApiError messages', () => {
  test('message names call, status, code, msg', async () => {
    const server = await serve([{ status: 400, json: { error: '2fa_verification_failed', msg: 'Invalid code', fail_count: 2, locked_until: null } }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.confirmNew({ tfa_method: 'totp', code: '123456', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' }));

    assert.equal(error.status, 400);
    assert.equal(error.apiCode, '2fa_verification_failed');
    assert.equal(error.method, 'POST');
    assert.equal(error.path, '/api/v0/tfa/confirm-new/');
    assert.equal(error.code, 'api_error');
    assert.equal(error.body.fail_count, 2);
    assert.match(error.message, /^POST \/api\/v0\/tfa\/confirm-new\/ failed: 400 2fa_verification_failed: Invalid code/);
    assert.match(error.message, /failed attempts on this method: 2/);
  });

  test('auth_error names key hint and fix', async () => {
    const server = await serve([{ status: 403, json: { error: 'auth_error', msg: 'Invalid API key' } }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.getStatus());

    assert.equal(error.status, 403);
    assert.equal(error.apiCode, 'auth_error');
    assert.ok(error.message.includes('...a3f9'), error.message);
    assert.ok(error.message.includes(server.url), error.message);
    assert.ok(!error.message.includes(API_KEY), 'the message contains the whole key');
    assert.match(error.hint ?? '', /--api-key/);
    assert.match(error.hint ?? '', /VAST_API_KEY/);
    assert.match(error.hint ?? '', /apiKey in the manifest/);
  });

  test('non-JSON 401 is treated as auth failure', async () => {
    const server = await serve([{ status: 401, text: 'Unauthorized' }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.getStatus());

    assert.equal(error.apiCode, 'http_401');
    assert.match(error.message, /API key \.\.\.a3f9 was rejected/);
  });

  test('expired session 404 says so', async () => {
    const server = await serve([{ status: 404, json: { error: 'not_found', msg: 'Login session not found or expired' } }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.login({ tfa_method: 'totp', code: '123456' }));

    assert.equal(error.status, 404);
    assert.match(error.message, /session expired/);
    assert.match(error.hint ?? '', /Log in again/);
  });

  test('HTML 502 becomes ApiError with excerpt', async () => {
    const html = '<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>';
    const server = await serve([{ status: 502, headers: { 'content-type': 'text/html' }, text: html }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.getStatus());

    assert.equal(error.status, 502);
    assert.equal(error.apiCode, 'http_502');
    assert.match(error.message, /502 http_502: 502 Bad Gateway 502 Bad Gateway nginx/);
    assert.doesNotMatch(error.message, /[<>]/);
    assert.doesNotMatch(error.message, /color:red/);
  });

  test('long non-JSON body is cut short', async () => {
    const server = await serve([{ status: 500, text: 'x'.repeat(5000) }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.getStatus());

    assert.ok(error.message.length < 300, `message has ${error.message.length} characters`);
    assert.match(error.message, /x\.\.\.$/);
  });

  test('server msg quoting a secret is scrubbed', async () => {
    const server = await serve([{ status: 400, json: { error: 'phone_number_mismatch', msg: 'Phone +12125551234 does not match challenge chal-xyz-987' } }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.confirmNew({ tfa_method: 'sms', code: '482913', secret: 'chal-xyz-987', phone_number: '+12125551234' }));

    assert.equal(error.message.includes('+12125551234'), false, error.message);
    assert.equal(error.message.includes('chal-xyz-987'), false, error.message);
    assert.ok(error.message.includes(REDACTED), error.message);
    assert.equal(error.body.msg?.includes('chal-xyz-987'), false);
  });

  test('redirect names its target', async () => {
    const server = await serve([{ status: 301, headers: { location: 'https://console.example.test/api/v0/tfa/status/' } }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.getStatus());

    assert.equal(error.status, 301);
    assert.equal(server.requests.length, 1);
    assert.match(error.message, /redirected to https:\/\/console\.example\.test/);
    assert.match(error.hint ?? '', /--url or VAST_URL/);
  });

  test('status with missing fields is invalid', async () => {
    const server = await serve([{ json: { tfa_enabled: true, backup_codes_remaining: 3 } }]);
    const client = clientFor(server);

    const error = await apiErrorFrom(client.getStatus());

    assert.equal(error.apiCode, 'invalid_response');
    assert.match(error.message, /methods/);
  });

  test('refused connection names URL and fix', async () => {
    const port = await findClosedPort();
    const client = clientFor({ url: `http://127.0.0.1:${port}` });

    await assert.rejects(client.getStatus(), (error: unknown) => {
      assert.ok(error instanceof ConnectionError, String(error));
      assert.equal(error.code, 'connection_failed');
      assert.ok(error.message.includes(`http://127.0.0.1:${port}`), error.message);
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.hint ?? '', /--url or VAST_URL/);
      return true;
    });
  });
});

describe('requests on the wire', () => {
  test('headers carry key, JSON and version', async () => {
    const server = await serve([{ json: { secret: 'S'.repeat(32), provisioning_uri: 'otpauth://totp/x' } }, { json: { tfa_enabled: false, methods: [], backup_codes_remaining: 0, new_method_authorized: false } }]);
    const client = clientFor(server);
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

    await client.totpSetup();
    await client.getStatus();

    const [post, get] = server.requests;
    assert.equal(post?.method, 'POST');
    assert.equal(post?.url, '/api/v0/tfa/totp-setup/');
    assert.equal(post?.body, '{}');
    assert.equal(post?.headers['authorization'], `Bearer ${API_KEY}`);
    assert.equal(post?.headers['content-type'], 'application/json');
    assert.equal(post?.headers['accept'], 'application/json');
    assert.equal(post?.headers['user-agent'], `tfa-gitops/${version}`);
    assert.equal(get?.method, 'GET');
    assert.equal(get?.body, '');
    assert.equal(get?.headers['authorization'], `Bearer ${API_KEY}`);
    assert.equal(get?.headers['content-type'], undefined);
  });

  test('DELETE sends its JSON body', async () => {
    const server = await serve([{ json: { msg: '2FA method removed', remaining_methods: 1 } }]);
    const client = clientFor(server);

    const answer = await client.deleteMethod({ tfa_method: 'totp', code: '123456', target_id: 12 });

    assert.deepEqual(answer, { msg: '2FA method removed', remaining_methods: 1 });
    assert.equal(server.requests[0]?.method, 'DELETE');
    assert.equal(server.requests[0]?.url, '/api/v0/tfa/');
    assert.deepEqual(JSON.parse(server.requests[0]?.body ?? ''), { tfa_method: 'totp', code: '123456', target_id: 12 });
  });

  test('base URL path prefix is kept', async () => {
    const server = await serve([{ json: { msg: 'sent again' } }]);
    const client = clientFor({ url: `${server.url}/proxy/` });

    await client.resendSms({ secret: 'chal-1' });

    assert.equal(client.baseUrl, `${server.url}/proxy`);
    assert.equal(server.requests[0]?.url, '/proxy/api/v0/tfa/sms/resend/');
  });
});

describe('explain trace', () => {
  test('exchanges are redacted, one per attempt', async () => {
    const backupCodes = Array.from({ length: 10 }, (_, index) => `AAAA-BBBB-${String(index).padStart(4, '0')}`);
    const server = await serve([
      { status: 503, json: { error: 'service_unavailable', msg: 'busy' } },
      { json: { msg: 'success', backup_codes: backupCodes } },
    ]);
    const exchanges: Exchange[] = [];
    const client = clientFor(server, { retries: 1, onExchange: (exchange) => exchanges.push(exchange) });
    const request = { tfa_method: 'sms', code: '482913', secret: 'chal-secret-token' } as const;

    const answer = await client.regenerateBackupCodes(request);

    assert.deepEqual(answer.backup_codes, backupCodes);
    assert.equal(exchanges.length, 2);
    assert.deepEqual(exchanges.map((exchange) => exchange.attempt), [1, 2]);
    assert.deepEqual(exchanges.map((exchange) => exchange.status), [503, 200]);
    assert.deepEqual(exchanges[0]?.requestBody, { tfa_method: 'sms', code: REDACTED, secret: REDACTED });
    assert.match(exchanges[0]?.error ?? '', /503 service_unavailable: busy/);
    assert.deepEqual(exchanges[1]?.responseBody, { msg: 'success', backup_codes: backupCodes.map(() => REDACTED) });
    assert.equal(exchanges[1]?.error, undefined);
    assert.ok(exchanges.every((exchange) => exchange.durationMs >= 0));
    assert.ok(exchanges.every((exchange) => !('headers' in exchange)));

    const secrets = [API_KEY, ...collectSecrets(request), ...backupCodes];
    assert.deepEqual(findLeakedSecrets(exchanges, secrets), []);
  });

  test('failed attempt is traced without status', async () => {
    const server = await serve([{ fault: 'after-request' }]);
    const exchanges: Exchange[] = [];
    const client = clientFor(server, { onExchange: (exchange) => exchanges.push(exchange) });

    await assert.rejects(client.authorizeNewMethod({ tfa_method: 'email' }));

    assert.equal(exchanges.length, 1);
    assert.equal(exchanges[0]?.status, null);
    assert.deepEqual(exchanges[0]?.requestBody, { tfa_method: 'email' });
    assert.match(exchanges[0]?.error ?? '', /failed to get a response/);
  });

  test('throwing trace callback keeps the answer', async () => {
    const server = await serve([{ json: { msg: 'success', backup_codes: ['AAAA-BBBB-CCCC'] } }]);
    const client = clientFor(server, {
      onExchange: () => {
        throw new Error('trace writer failed');
      },
    });

    const answer = await client.regenerateBackupCodes({ backup_code: 'DDDD-EEEE-FFFF' });

    assert.deepEqual(answer.backup_codes, ['AAAA-BBBB-CCCC']);
  });
});

describe('client options', () => {
  const rejectsWith = (options: Partial<ClientOptions>, code: string, pattern: RegExp) => {
    assert.throws(
      () => new VastClient({ baseUrl: 'http://127.0.0.1:9', apiKey: API_KEY, ...options }),
      (error: unknown) => error instanceof TfaError && error.code === code && pattern.test(error.message),
    );
  };

  test('invalid base URLs are rejected', () => {
    rejectsWith({ baseUrl: 'console.vast.ai' }, 'invalid_url', /not a valid URL/);
    rejectsWith({ baseUrl: 'ftp://127.0.0.1' }, 'invalid_url', /http:\/\/ or https:\/\//);
    rejectsWith({ baseUrl: 'http://127.0.0.1/?x=1' }, 'invalid_url', /query/);
    rejectsWith({ baseUrl: 'http://user:hunter2@127.0.0.1' }, 'invalid_url', /^(?!.*hunter2).*user name or password/);
  });

  test('invalid API keys are rejected', () => {
    rejectsWith({ apiKey: '' }, 'api_key_invalid', /empty/);
    rejectsWith({ apiKey: 'abcdefghijklmnop\n' }, 'api_key_invalid', /^(?!.*abcdefghijklmnop).*characters/);
  });

  test('invalid budgets are rejected', () => {
    rejectsWith({ retries: -1 }, 'invalid_option', /retry count/);
    rejectsWith({ retries: 1.5 }, 'invalid_option', /retry count/);
    rejectsWith({ requestTimeoutMs: 0 }, 'invalid_option', /request timeout/);
    rejectsWith({ maxRetryTimeMs: Number.NaN }, 'invalid_option', /maximum retry time/);
  });

  test('key hint and base URL are exposed', () => {
    const client = new VastClient({ baseUrl: 'https://console.vast.ai/', apiKey: API_KEY });

    assert.equal(client.keyHint, '...a3f9');
    assert.equal(client.baseUrl, 'https://console.vast.ai');
    assert.equal(client.clockOffsetMs, undefined);
  });
});
