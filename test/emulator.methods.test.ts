import assert from 'node:assert/strict';
import { test } from 'node:test';

import { callApi, createAccount, enrollSms, enrollTotp, readState, totpCode, withEmulator } from './helpers/emulator.js';

/** 2030-01-01T00:00:10Z: 10 seconds into a TOTP step. */
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const START = START_MS / 1000;
const fixedClock = { now: () => START_MS };
const UPDATE = '/api/v0/tfa/update/';
const REGEN = '/api/v0/tfa/regen-backup-codes/';

async function setClock(url: string, offsetSeconds: number): Promise<void> {
  const response = await callApi(url, undefined, 'POST', '/_emulator/clock', { offset_seconds: offsetSeconds });
  assert.equal(response.status, 200);
}

test('status of a new account', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.status, 200);
    assert.deepEqual(status.body, { tfa_enabled: false, methods: [], backup_codes_remaining: 0, new_method_authorized: false });
  });
});

test('update changes label and primary', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const first = await enrollTotp(emu.url, account.apiKey, 'first');
    const sms = await enrollSms(emu.url, account.apiKey, '+12125551234', 'phone');

    const renamed = await callApi(emu.url, account.apiKey, 'PUT', UPDATE, { tfa_method_id: first.methodId, label: 'renamed' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.success, true);
    assert.equal(renamed.body.msg, '2FA method updated');
    assert.equal(renamed.body.method.id, first.methodId);
    assert.equal(renamed.body.method.label, 'renamed');

    const promoted = await callApi(emu.url, account.apiKey, 'PUT', UPDATE, { tfa_method: 'sms', is_primary: true });
    assert.equal(promoted.status, 200);
    assert.equal(promoted.body.method.id, sms.methodId);
    assert.equal(promoted.body.method.is_primary, true);
    assert.equal(promoted.body.method.phone_number, '******1234');

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    const primaryIds = status.body.methods.filter((method: { is_primary: boolean }) => method.is_primary).map((method: { id: number }) => method.id);
    assert.deepEqual(primaryIds, [sms.methodId]);

    const cleared = await callApi(emu.url, account.apiKey, 'PUT', UPDATE, { tfa_method_id: first.methodId, label: null });
    assert.equal(cleared.body.method.label, null);
  });
});

test('update rejects bad requests', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const first = await enrollTotp(emu.url, account.apiKey, 'first');
    await enrollTotp(emu.url, account.apiKey, 'second');

    const cases: Array<[string, unknown, number, string]> = [
      ['nothing to change', { tfa_method_id: first.methodId }, 400, 'bad_request'],
      ['unknown id', { tfa_method_id: 9999, label: 'x' }, 404, 'not_found'],
      ['ambiguous type', { tfa_method: 'totp', label: 'x' }, 400, 'bad_request'],
      ['absent type', { tfa_method: 'sms', label: 'x' }, 404, 'not_found'],
      ['type mismatch', { tfa_method_id: first.methodId, tfa_method: 'sms', label: 'x' }, 400, 'bad_request'],
      ['no method named', { label: 'x' }, 400, 'bad_request'],
      ['label too long', { tfa_method_id: first.methodId, label: 'y'.repeat(31) }, 400, 'bad_request'],
      ['primary cleared', { tfa_method_id: first.methodId, is_primary: false }, 400, 'bad_request'],
    ];

    for (const [name, body, status, error] of cases) {
      const response = await callApi(emu.url, account.apiKey, 'PUT', UPDATE, body);
      assert.equal(response.status, status, name);
      assert.equal(response.body.error, error, name);
    }

    const state = await readState(emu.url);
    assert.equal(state.accounts[0].methods[0].label, 'first', 'no rejected update changed anything');
    assert.equal(state.accounts[0].methods[0].is_primary, true);
  });
});

test('delete defaults to the verifying method', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const first = await enrollTotp(emu.url, account.apiKey, 'first');
    const second = await enrollTotp(emu.url, account.apiKey, 'second');
    await setClock(emu.url, 30);

    const removed = await callApi(emu.url, account.apiKey, 'DELETE', '/api/v0/tfa/', {
      tfa_method: 'totp',
      tfa_method_id: first.methodId,
      code: await totpCode(first.secret, START + 30),
    });
    assert.equal(removed.status, 200);
    assert.deepEqual(removed.body, { msg: '2FA method removed', remaining_methods: 1 });

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.deepEqual(
      status.body.methods.map((method: { id: number }) => method.id),
      [second.methodId],
    );
    assert.equal(status.body.methods[0].is_primary, true, 'the remaining method became primary');
    assert.equal(status.body.backup_codes_remaining, 10);

    const state = await readState(emu.url);
    assert.equal(state.accounts[0].removed_methods[0].id, first.methodId);
  }, fixedClock);
});

test('delete with target_id removes another method', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const first = await enrollTotp(emu.url, account.apiKey, 'first');
    const sms = await enrollSms(emu.url, account.apiKey, '+12125551234');
    await setClock(emu.url, 30);

    const removed = await callApi(emu.url, account.apiKey, 'DELETE', '/api/v0/tfa/', {
      tfa_method: 'totp',
      code: await totpCode(first.secret, START + 30),
      target_id: sms.methodId,
    });
    assert.equal(removed.status, 200);
    assert.equal(removed.body.remaining_methods, 1);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods[0].id, first.methodId);
  }, fixedClock);
});

test('delete checks target before verifying', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { backupCodes } = await enrollTotp(emu.url, account.apiKey);
    const backupCode = backupCodes?.[0] ?? '';

    const noTarget = await callApi(emu.url, account.apiKey, 'DELETE', '/api/v0/tfa/', { backup_code: backupCode });
    assert.equal(noTarget.status, 400);
    assert.equal(noTarget.body.error, 'bad_request');

    const unknownTarget = await callApi(emu.url, account.apiKey, 'DELETE', '/api/v0/tfa/', { backup_code: backupCode, target_id: 9999 });
    assert.equal(unknownTarget.status, 404);
    assert.equal(unknownTarget.body.error, 'not_found');

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.backup_codes_remaining, 10, 'no backup code was spent');
  });
});

test('removing the last method disables 2FA', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { methodId, backupCodes } = await enrollTotp(emu.url, account.apiKey);
    const [spent, kept] = backupCodes ?? [];

    const removed = await callApi(emu.url, account.apiKey, 'DELETE', '/api/v0/tfa/', { backup_code: spent, target_id: methodId });
    assert.equal(removed.status, 200);
    assert.deepEqual(removed.body, { msg: '2FA Successfully Disabled' });

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.tfa_enabled, false);
    assert.deepEqual(status.body.methods, []);
    assert.equal(status.body.backup_codes_remaining, 0);

    const oldCode = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/authorize-new-method/', { backup_code: kept });
    assert.equal(oldCode.status, 401, 'every backup code is invalid after disabling');
    assert.equal(oldCode.body.error, 'invalid_backup_code');
  });
});

test('regen replaces all backup codes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { secret, backupCodes } = await enrollTotp(emu.url, account.apiKey);
    await setClock(emu.url, 30);

    const regenerated = await callApi(emu.url, account.apiKey, 'PUT', REGEN, { tfa_method: 'totp', code: await totpCode(secret, START + 30) });
    assert.equal(regenerated.status, 200);
    assert.equal(regenerated.body.msg, 'success');
    assert.equal(regenerated.body.backup_codes.length, 10);
    for (const code of regenerated.body.backup_codes) assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    for (const code of backupCodes ?? []) assert.ok(!regenerated.body.backup_codes.includes(code));

    const old = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', { backup_code: backupCodes?.[0] });
    assert.equal(old.status, 401);
    assert.equal(old.body.error, 'invalid_backup_code');

    const fresh = await callApi(emu.url, account.apiKey, 'PUT', REGEN, { backup_code: regenerated.body.backup_codes[0] });
    assert.equal(fresh.status, 200, 'a new code verifies, and regen replaces the set again');

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.backup_codes_remaining, 10);
  }, fixedClock);
});

test('regen without 2FA is bad_request', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const response = await callApi(emu.url, account.apiKey, 'PUT', REGEN, { backup_code: 'AAAA-BBBB-CCCC' });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'bad_request');
  });
});
