import assert from 'node:assert/strict';
import { test } from 'node:test';

import { callApi, createAccount, enrollTotp, readState, totpCode, withEmulator } from './helpers/emulator.js';

/** 2030-01-01T00:00:10Z: 10 seconds into a TOTP step. */
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const START = START_MS / 1000;
const fixedClock = { now: () => START_MS };
const LOGIN = '/api/v0/tfa/';

async function setClock(url: string, offsetSeconds: number): Promise<void> {
  const response = await callApi(url, undefined, 'POST', '/_emulator/clock', { offset_seconds: offsetSeconds });
  assert.equal(response.status, 200);
}

/** Returns a 6-digit code that matches none of the seed's codes for the steps around `epochSeconds`. */
async function wrongTotpCode(secret: string, epochSeconds: number): Promise<string> {
  const near = new Set(await Promise.all([-30, 0, 30].map((delta) => totpCode(secret, epochSeconds + delta))));
  for (const candidate of ['000000', '111111', '222222', '333333']) {
    if (!near.has(candidate)) return candidate;
  }
  throw new Error('no wrong code found');
}

test('TOTP login returns user and session key', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url, 'ops@example.com');
    const { secret } = await enrollTotp(emu.url, account.apiKey);
    await setClock(emu.url, 30);

    const login = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, START + 30) });
    assert.equal(login.status, 200);
    assert.equal(login.body.id, account.id);
    assert.equal(login.body.email, 'ops@example.com');
    assert.equal(login.body.tfa_enabled, true);
    assert.match(login.body.session_key, /^[0-9a-f]{64}$/);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods[0].last_used, START + 30);
  }, fixedClock);
});

test('login without 2FA is bad_request', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const response = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: '123456' });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'bad_request');
  });
});

test('replayed code is rejected until next step', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { secret } = await enrollTotp(emu.url, account.apiKey);

    const enrollmentCode = await totpCode(secret, START);
    const sameStep = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: enrollmentCode });
    assert.equal(sameStep.status, 400, 'the enrollment code counts as used');
    assert.equal(sameStep.body.error, '2fa_verification_failed');
    assert.equal(sameStep.body.fail_count, 1);

    await setClock(emu.url, 30);
    const nextCode = await totpCode(secret, START + 30);
    const accepted = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: nextCode });
    assert.equal(accepted.status, 200);

    const replay = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: nextCode });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, '2fa_verification_failed');
    assert.equal(replay.body.fail_count, 1, 'the success in between reset the count');

    await setClock(emu.url, 60);
    const previousStep = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: nextCode });
    assert.equal(previousStep.status, 400, 'an older step stays spent');

    const following = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, START + 60) });
    assert.equal(following.status, 200);
  }, fixedClock);
});

test('code of one step either side is accepted', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { secret } = await enrollTotp(emu.url, account.apiKey);
    await setClock(emu.url, 300);
    const now = START + 300;

    const tooOld = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, now - 60) });
    assert.equal(tooOld.status, 400, 'two steps back is wrong');

    const previous = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, now - 30) });
    assert.equal(previous.status, 200);

    const next = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, now + 30) });
    assert.equal(next.status, 200);

    await setClock(emu.url, 400);
    const tooNew = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, START + 400 + 60) });
    assert.equal(tooNew.status, 400, 'two steps ahead is wrong');
  }, fixedClock);
});

test('TOTP method locks after 5 wrong codes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { secret } = await enrollTotp(emu.url, account.apiKey);
    await setClock(emu.url, 30);
    const wrong = await wrongTotpCode(secret, START + 30);

    for (const expectedCount of [1, 2, 3, 4]) {
      const response = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: wrong });
      assert.equal(response.status, 400);
      assert.equal(response.body.error, '2fa_verification_failed');
      assert.equal(response.body.fail_count, expectedCount);
      assert.equal(response.body.locked_until, null);
    }

    const fifth = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: wrong });
    assert.equal(fifth.status, 400);
    assert.equal(fifth.body.fail_count, 5);
    assert.equal(fifth.body.locked_until, START + 30 + 900);

    const right = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, START + 30) });
    assert.equal(right.status, 429);
    assert.equal(right.body.error, 'tfa_locked');
    assert.equal(right.body.fail_count, 5);
    assert.equal(right.body.locked_until, START + 30 + 900);

    const state = await readState(emu.url);
    assert.equal(state.accounts[0].methods[0].wrong_codes_total, 5, 'locked attempts are not counted as wrong codes');
  }, fixedClock);
});

test('TOTP lock ends after 15 minutes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { secret } = await enrollTotp(emu.url, account.apiKey);
    await setClock(emu.url, 30);
    const wrong = await wrongTotpCode(secret, START + 30);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: wrong });
    }

    await setClock(emu.url, 30 + 899);
    const stillLocked = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, START + 929) });
    assert.equal(stillLocked.status, 429);

    await setClock(emu.url, 30 + 900);
    const unlocked = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: await totpCode(secret, START + 930) });
    assert.equal(unlocked.status, 200);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods[0].fail_count, 0);
    assert.equal(status.body.methods[0].locked_until, null);
  }, fixedClock);
});

test('malformed TOTP code counts as wrong', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await enrollTotp(emu.url, account.apiKey);

    for (const [index, code] of ['12345', 'abcdef', '1234567'].entries()) {
      const response = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code });
      assert.equal(response.status, 400, code);
      assert.equal(response.body.error, '2fa_verification_failed', code);
      assert.equal(response.body.fail_count, index + 1, code);
    }
  });
});

test('several TOTP methods need tfa_method_id', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await enrollTotp(emu.url, account.apiKey, 'a');
    const second = await enrollTotp(emu.url, account.apiKey, 'b');
    await setClock(emu.url, 30);
    const code = await totpCode(second.secret, START + 30);

    const ambiguous = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code });
    assert.equal(ambiguous.status, 400);
    assert.equal(ambiguous.body.error, 'bad_request');
    assert.match(ambiguous.body.msg, /tfa_method_id/);

    const unknown = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code, tfa_method_id: 9999 });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'not_found');

    const chosen = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code, tfa_method_id: second.methodId });
    assert.equal(chosen.status, 200);

    const state = await readState(emu.url);
    const [first] = state.accounts[0].methods;
    assert.equal(first.wrong_codes_total, 0, 'no code reached the other method');
  }, fixedClock);
});

test('incomplete verification is rejected', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await enrollTotp(emu.url, account.apiKey);

    const nothing = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp' });
    assert.equal(nothing.status, 400);
    assert.equal(nothing.body.error, 'missing_auth_value');

    const noSecret = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'sms', code: '123456' });
    assert.equal(noSecret.status, 400);
    assert.equal(noSecret.body.error, 'missing_params');

    const emailNoSecret = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'email', code: '123456' });
    assert.equal(emailNoSecret.body.error, 'missing_params');

    const noMethod = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { code: '123456' });
    assert.equal(noMethod.body.error, 'bad_request');

    const both = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'totp', code: '123456', backup_code: 'AAAA-BBBB-CCCC' });
    assert.equal(both.body.error, 'bad_request');

    const unknownSecret = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { tfa_method: 'email', code: '123456', secret: 'nope' });
    assert.equal(unknownSecret.body.error, 'challenge_not_found');
  });
});

test('backup code verifies a login once', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { backupCodes } = await enrollTotp(emu.url, account.apiKey);
    const backupCode = backupCodes?.[3] ?? '';

    const login = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { backup_code: backupCode });
    assert.equal(login.status, 200);

    const again = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { backup_code: backupCode });
    assert.equal(again.status, 401);
    assert.equal(again.body.error, 'invalid_backup_code');

    const lowerCase = await callApi(emu.url, account.apiKey, 'POST', LOGIN, { backup_code: (backupCodes?.[4] ?? '').toLowerCase() });
    assert.equal(lowerCase.status, 401, 'backup codes match exactly');

    const state = await readState(emu.url);
    const used = state.accounts[0].backup_codes.filter((code: { used: boolean }) => code.used);
    assert.deepEqual(
      used.map((code: { code: string }) => code.code),
      [backupCode],
    );
  });
});
