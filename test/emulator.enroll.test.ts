import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  authorizeByEmail,
  callApi,
  createAccount,
  enrollTotp,
  latestCode,
  readOutbox,
  readState,
  totpCode,
  withEmulator,
} from './helpers/emulator.js';

/** 2030-01-01T00:00:10Z: 10 seconds into a TOTP step. */
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const START = START_MS / 1000;
const fixedClock = { now: () => START_MS };
const CONFIRM = '/api/v0/tfa/confirm-new/';
const BACKUP_CODE_PATTERN = /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/;

async function setClock(url: string, offsetSeconds: number): Promise<void> {
  const response = await callApi(url, undefined, 'POST', '/_emulator/clock', { offset_seconds: offsetSeconds });
  assert.equal(response.status, 200);
}

async function newSeed(url: string, apiKey: string): Promise<string> {
  const setup = await callApi(url, apiKey, 'POST', '/api/v0/tfa/totp-setup/', {});
  assert.equal(setup.status, 200);
  return setup.body.secret;
}

test('totp-setup issues a 20-byte seed', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url, 'ops@example.com');

    const setup = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/totp-setup/', {});
    assert.equal(setup.status, 200);
    assert.match(setup.body.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(setup.body.provisioning_uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), '/vast.ai:ops@example.com');
    assert.equal(uri.searchParams.get('secret'), setup.body.secret);
    assert.equal(uri.searchParams.get('issuer'), 'vast.ai');

    const again = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/totp-setup/');
    assert.equal(again.status, 200, 'an empty body is accepted');
    assert.notEqual(again.body.secret, setup.body.secret);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods.length, 0, 'setup adds nothing by itself');
  });
});

test('first method gets 10 backup codes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const seed = await newSeed(emu.url, account.apiKey);

    const confirmed = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
      tfa_method: 'totp',
      secret: seed,
      code: await totpCode(seed, START),
      label: 'ci-bot',
    });
    assert.equal(confirmed.status, 200);
    assert.equal(confirmed.body.success, true);
    assert.equal(confirmed.body.msg, 'TOTP 2FA method added successfully.');
    assert.equal(confirmed.body.backup_codes.length, 10);
    assert.equal(new Set(confirmed.body.backup_codes).size, 10);
    for (const code of confirmed.body.backup_codes) assert.match(code, BACKUP_CODE_PATTERN);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.tfa_enabled, true);
    assert.equal(status.body.backup_codes_remaining, 10);
    const [method] = status.body.methods;
    assert.equal(method.method, 'totp');
    assert.equal(method.label, 'ci-bot');
    assert.equal(method.is_primary, true);
    assert.equal(method.user_id, account.id);
    assert.equal(method.created_at, START);
    assert.equal(method.last_used, null);
    assert.equal(method.fail_count, 0);
    assert.equal(method.locked_until, null);
    assert.equal('secret' in method, false, 'the status never shows a seed');

    const state = await readState(emu.url);
    assert.equal(state.accounts[0].methods[0].secret, seed);
  }, fixedClock);
});

test('second method gets no backup codes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const first = await enrollTotp(emu.url, account.apiKey, 'first');
    const seed = await newSeed(emu.url, account.apiKey);

    const confirmed = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
      tfa_method: 'totp',
      secret: seed,
      code: await totpCode(seed, START),
      label: 'second',
    });
    assert.equal(confirmed.status, 200);
    assert.equal('backup_codes' in confirmed.body, false);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    const primary = status.body.methods.filter((method: { is_primary: boolean }) => method.is_primary);
    assert.deepEqual(
      primary.map((method: { id: number }) => method.id),
      [first.methodId],
    );
    assert.equal(status.body.backup_codes_remaining, 10, 'the first set stays valid');
  }, fixedClock);
});

test('label over 30 characters is bad_request', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const seed = await newSeed(emu.url, account.apiKey);
    const code = await totpCode(seed, START);

    const tooLong = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed, code, label: 'x'.repeat(31) });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error, 'bad_request');
    assert.match(tooLong.body.msg, /label/);

    const emptyLabel = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed, code, label: '' });
    assert.equal(emptyLabel.status, 400);

    const longest = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed, code, label: 'é'.repeat(30) });
    assert.equal(longest.status, 200, '30 characters are allowed');
  }, fixedClock);
});

test('confirm-new without window is authorization_required', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const seed = await newSeed(emu.url, account.apiKey);

    const response = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
      tfa_method: 'totp',
      secret: seed,
      code: await totpCode(seed, START),
    });
    assert.equal(response.status, 403);
    assert.equal(response.body.error, 'authorization_required');
  }, fixedClock);
});

test('seed not from totp-setup is rejected', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const other = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const othersSeed = await newSeed(emu.url, other.apiKey);
    const madeUp = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

    for (const seed of [othersSeed, madeUp]) {
      const response = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
        tfa_method: 'totp',
        secret: seed,
        code: await totpCode(seed, START),
      });
      assert.equal(response.status, 400);
      assert.equal(response.body.error, 'challenge_not_found');
    }
  }, fixedClock);
});

test('seed confirms only once', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const seed = await newSeed(emu.url, account.apiKey);

    const first = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed, code: await totpCode(seed, START) });
    assert.equal(first.status, 200);

    await setClock(emu.url, 30);
    const second = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed, code: await totpCode(seed, START + 30) });
    assert.equal(second.status, 400);
    assert.equal(second.body.error, 'challenge_not_found');
  }, fixedClock);
});

test('wrong code at confirm-new adds nothing', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const seed = await newSeed(emu.url, account.apiKey);
    const stale = await totpCode(seed, START - 90);

    const response = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed, code: stale });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, '2fa_verification_failed');
    assert.equal(response.body.fail_count, 1);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods.length, 0);

    const retried = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed, code: await totpCode(seed, START) });
    assert.equal(retried.status, 200, 'the seed stays usable after a wrong code');
  }, fixedClock);
});

test('confirm-new needs code, secret, tfa_method', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const seed = await newSeed(emu.url, account.apiKey);

    const noCode = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', secret: seed });
    assert.equal(noCode.body.error, 'missing_auth_value');

    const noSecret = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'totp', code: '123456' });
    assert.equal(noSecret.body.error, 'missing_params');

    const noType = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { secret: seed, code: '123456' });
    assert.equal(noType.body.error, 'bad_request');

    const emailType = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, { tfa_method: 'email', secret: seed, code: '123456' });
    assert.equal(emailType.body.error, 'bad_request', 'email is never a stored method');
  });
});

test('SMS method enrolls with a texted code', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);

    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: '+12125551234' });
    assert.equal(sent.status, 200);
    assert.equal(sent.body.msg, '2FA Sent');
    const outbox = await readOutbox(emu.url, account.apiKey);
    assert.deepEqual(outbox.at(-1), { channel: 'sms', to: '+12125551234', code: outbox.at(-1)?.code, sent_at: START });

    const confirmed = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
      tfa_method: 'sms',
      phone_number: '+12125551234',
      secret: sent.body.secret,
      code: outbox.at(-1)?.code,
      label: 'oncall',
    });
    assert.equal(confirmed.status, 200);
    assert.equal(confirmed.body.msg, 'SMS 2FA method added successfully.');
    assert.equal(confirmed.body.backup_codes.length, 10);

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    const [method] = status.body.methods;
    assert.equal(method.method, 'sms');
    assert.equal(method.phone_number, '******1234');
    assert.equal(method.label, 'oncall');
  }, fixedClock);
});

test('other phone number is phone_number_mismatch', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: '+12125551234' });

    const response = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
      tfa_method: 'sms',
      phone_number: '+12125559999',
      secret: sent.body.secret,
      code: await latestCode(emu.url, account.apiKey, 'sms'),
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'phone_number_mismatch');
  });
});

test('same number twice is duplicate_tfa_method', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);

    const enroll = async () => {
      const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: '+12125551234' });
      assert.equal(sent.status, 200);
      return callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
        tfa_method: 'sms',
        phone_number: '+12125551234',
        secret: sent.body.secret,
        code: await latestCode(emu.url, account.apiKey, 'sms'),
      });
    };

    assert.equal((await enroll()).status, 200);
    await setClock(emu.url, 61);
    const duplicate = await enroll();
    assert.equal(duplicate.status, 400);
    assert.equal(duplicate.body.error, 'duplicate_tfa_method');
  }, fixedClock);
});

test('SMS enrollment challenge expires', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await authorizeByEmail(emu.url, account.apiKey);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: '+12125551234' });
    const code = await latestCode(emu.url, account.apiKey, 'sms');

    await setClock(emu.url, 601);
    const response = await callApi(emu.url, account.apiKey, 'POST', CONFIRM, {
      tfa_method: 'sms',
      phone_number: '+12125551234',
      secret: sent.body.secret,
      code,
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, '2fa_expired');
  }, fixedClock);
});

test('several TOTP methods are allowed', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const first = await enrollTotp(emu.url, account.apiKey, 'a');
    const second = await enrollTotp(emu.url, account.apiKey, 'b');

    assert.notEqual(first.methodId, second.methodId);
    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods.length, 2);
  });
});
