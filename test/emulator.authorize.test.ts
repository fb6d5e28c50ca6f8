import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  authorizeByEmail,
  callApi,
  createAccount,
  enrollTotp,
  latestCode,
  readOutbox,
  totpCode,
  withEmulator,
} from './helpers/emulator.js';

/** 2030-01-01T00:00:10Z: 10 seconds into a TOTP step. */
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const START = START_MS / 1000;
const fixedClock = { now: () => START_MS };
const PATH = '/api/v0/tfa/authorize-new-method/';

async function setClock(url: string, offsetSeconds: number): Promise<void> {
  const response = await callApi(url, undefined, 'POST', '/_emulator/clock', { offset_seconds: offsetSeconds });
  assert.equal(response.status, 200);
}

test('account without methods is authorized by email', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url, 'new@example.com');

    const started = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'totp' });
    assert.equal(started.status, 200);
    assert.equal(started.body.success, true);
    assert.equal(typeof started.body.secret, 'string');

    const outbox = await readOutbox(emu.url, account.apiKey);
    assert.equal(outbox.length, 1);
    assert.equal(outbox[0]?.channel, 'email');
    assert.equal(outbox[0]?.to, 'new@example.com');
    assert.equal(outbox[0]?.sent_at, START);

    const before = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(before.body.new_method_authorized, false);

    const completed = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: started.body.secret, code: outbox[0]?.code });
    assert.equal(completed.status, 200);
    assert.deepEqual(completed.body, { success: true, msg: 'Authorization successful.' });

    const after = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(after.body.new_method_authorized, true);
  }, fixedClock);
});

test('unverified email is email_not_verified', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url, 'unverified@example.com', false);

    const response = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'email' });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'email_not_verified');
    assert.deepEqual(await readOutbox(emu.url, account.apiKey), []);
  });
});

test('PUT without POST is no_pending_authorization', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const response = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: 'abc', code: '123456' });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'no_pending_authorization');
  });
});

test('PUT needs code and secret', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const started = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'email' });

    const noCode = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: started.body.secret });
    assert.equal(noCode.status, 400);
    assert.equal(noCode.body.error, 'missing_auth_value');

    const noSecret = await callApi(emu.url, account.apiKey, 'PUT', PATH, { code: '123456' });
    assert.equal(noSecret.status, 400);
    assert.equal(noSecret.body.error, 'missing_params');
  });
});

test('unknown secret is challenge_not_found', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const other = await createAccount(emu.url);
    await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'email' });
    const othersChallenge = await callApi(emu.url, other.apiKey, 'POST', PATH, { tfa_method: 'email' });
    const code = await latestCode(emu.url, other.apiKey, 'email');

    const wrongSecret = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: 'no-such-secret', code: '123456' });
    assert.equal(wrongSecret.status, 400);
    assert.equal(wrongSecret.body.error, 'challenge_not_found');

    const borrowed = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: othersChallenge.body.secret, code });
    assert.equal(borrowed.status, 400);
    assert.equal(borrowed.body.error, 'challenge_not_found', "another account's challenge is not found");
  });
});

test('challenge older than 10 minutes is 2fa_expired', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const started = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'email' });
    const code = await latestCode(emu.url, account.apiKey, 'email');

    await setClock(emu.url, 600);
    const expired = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: started.body.secret, code });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.error, '2fa_expired');

    await setClock(emu.url, 599);
    const justInTime = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: started.body.secret, code });
    assert.equal(justInTime.status, 200);
  }, fixedClock);
});

test('email challenge is discarded after 3 wrong codes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const started = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'email' });
    const code = await latestCode(emu.url, account.apiKey, 'email');
    const wrong = code === '000000' ? '111111' : '000000';

    for (const expectedCount of [1, 2, 3]) {
      const response = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: started.body.secret, code: wrong });
      assert.equal(response.status, 400);
      assert.equal(response.body.error, '2fa_verification_failed');
      assert.equal(response.body.fail_count, expectedCount);
      assert.equal(response.body.locked_until, null);
    }

    const afterwards = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: started.body.secret, code });
    assert.equal(afterwards.status, 400);
    assert.equal(afterwards.body.error, 'no_pending_authorization');
  });
});

test('window closes after 30 minutes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);

    await setClock(emu.url, 30 * 60);
    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.new_method_authorized, false);

    const setup = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/totp-setup/', {});
    const code = await totpCode(setup.body.secret, START + 30 * 60);
    const confirmed = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/confirm-new/', {
      tfa_method: 'totp',
      secret: setup.body.secret,
      code,
    });
    assert.equal(confirmed.status, 403);
    assert.equal(confirmed.body.error, 'authorization_required');
  }, fixedClock);
});

test('one window serves several additions', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);

    for (const label of ['first', 'second', 'third']) {
      const setup = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/totp-setup/', {});
      const code = await totpCode(setup.body.secret, START);
      const confirmed = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/confirm-new/', {
        tfa_method: 'totp',
        secret: setup.body.secret,
        code,
        label,
      });
      assert.equal(confirmed.status, 200, label);
    }

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.deepEqual(
      status.body.methods.map((method: { label: string }) => method.label),
      ['first', 'second', 'third'],
    );
    assert.equal((await readOutbox(emu.url, account.apiKey)).length, 1, 'one email authorized all three');
  }, fixedClock);
});

test('backup code authorizes in one step', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { backupCodes } = await enrollTotp(emu.url, account.apiKey, 'ci-bot');
    const backupCode = backupCodes?.[0] ?? '';
    await setClock(emu.url, 31 * 60);

    const authorized = await callApi(emu.url, account.apiKey, 'POST', PATH, { backup_code: backupCode });
    assert.equal(authorized.status, 200);
    assert.deepEqual(authorized.body, { success: true, msg: 'Authorization successful.' });

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.new_method_authorized, true);
    assert.equal(status.body.backup_codes_remaining, 9);
  }, fixedClock);
});

test('wrong or used backup code is invalid_backup_code', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { backupCodes } = await enrollTotp(emu.url, account.apiKey);
    const backupCode = backupCodes?.[0] ?? '';

    const wrong = await callApi(emu.url, account.apiKey, 'POST', PATH, { backup_code: 'AAAA-BBBB-CCCC' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_backup_code');

    assert.equal((await callApi(emu.url, account.apiKey, 'POST', PATH, { backup_code: backupCode })).status, 200);

    const reused = await callApi(emu.url, account.apiKey, 'POST', PATH, { backup_code: backupCode });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error, 'invalid_backup_code');
  });
});

test('TOTP method authorizes in the next step', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { methodId, secret } = await enrollTotp(emu.url, account.apiKey, 'ci-bot');
    await setClock(emu.url, 31 * 60);

    const started = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'totp' });
    assert.equal(started.status, 200);
    assert.equal(typeof started.body.secret, 'string');

    const completed = await callApi(emu.url, account.apiKey, 'PUT', PATH, {
      secret: started.body.secret,
      code: await totpCode(secret, START + 31 * 60),
    });
    assert.equal(completed.status, 200);
    assert.equal(completed.body.msg, 'Authorization successful.');

    const byId = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method_id: methodId });
    assert.equal(byId.status, 200);
    assert.equal((await readOutbox(emu.url, account.apiKey)).length, 1, 'TOTP authorization sends nothing');
  }, fixedClock);
});

test('SMS method authorizes by texted code', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: '+12125551234' });
    const enrolled = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/confirm-new/', {
      tfa_method: 'sms',
      phone_number: '+12125551234',
      secret: sent.body.secret,
      code: await latestCode(emu.url, account.apiKey, 'sms'),
    });
    assert.equal(enrolled.status, 200);
    await setClock(emu.url, 31 * 60);

    const started = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'sms' });
    assert.equal(started.status, 200);
    const outbox = await readOutbox(emu.url, account.apiKey);
    assert.equal(outbox.at(-1)?.channel, 'sms');
    assert.equal(outbox.at(-1)?.to, '+12125551234');

    const completed = await callApi(emu.url, account.apiKey, 'PUT', PATH, { secret: started.body.secret, code: outbox.at(-1)?.code });
    assert.equal(completed.status, 200);
  }, fixedClock);
});

test('POST without a way to verify is bad_request', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await enrollTotp(emu.url, account.apiKey);

    const empty = await callApi(emu.url, account.apiKey, 'POST', PATH, {});
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error, 'bad_request');

    const noSms = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method: 'sms' });
    assert.equal(noSms.status, 404);
    assert.equal(noSms.body.error, 'not_found');

    const unknownId = await callApi(emu.url, account.apiKey, 'POST', PATH, { tfa_method_id: 9999 });
    assert.equal(unknownId.status, 404);
    assert.equal(unknownId.body.error, 'not_found');
  });
});
