import assert from 'node:assert/strict';
import { test } from 'node:test';

import { callApi, createAccount, enrollSms, latestCode, readOutbox, readState, withEmulator } from './helpers/emulator.js';

/** 2030-01-01T00:00:10Z: 10 seconds into a TOTP step. */
const START_MS = Date.UTC(2030, 0, 1, 0, 0, 10);
const START = START_MS / 1000;
const fixedClock = { now: () => START_MS };
const PHONE = '+12125551234';

async function setClock(url: string, offsetSeconds: number): Promise<void> {
  const response = await callApi(url, undefined, 'POST', '/_emulator/clock', { offset_seconds: offsetSeconds });
  assert.equal(response.status, 200);
}

function wrongCodeFor(code: string): string {
  return code === '000000' ? '111111' : '000000';
}

test('SMS code verifies a login', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { methodId } = await enrollSms(emu.url, account.apiKey, PHONE);
    await setClock(emu.url, 61);

    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { tfa_method_id: methodId });
    assert.equal(sent.status, 200);
    assert.equal(sent.body.msg, '2FA Sent');

    const login = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', {
      tfa_method: 'sms',
      secret: sent.body.secret,
      code: await latestCode(emu.url, account.apiKey, 'sms'),
    });
    assert.equal(login.status, 200);
    assert.equal(login.body.id, account.id);
    assert.equal(typeof login.body.session_key, 'string');

    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods[0].last_used, START + 61);

    const reused = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', {
      tfa_method: 'sms',
      secret: sent.body.secret,
      code: await latestCode(emu.url, account.apiKey, 'sms'),
    });
    assert.equal(reused.status, 400);
    assert.equal(reused.body.error, 'challenge_not_found', 'a challenge works once');
  }, fixedClock);
});

test('only SMS method needs no id', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await enrollSms(emu.url, account.apiKey, PHONE);
    await setClock(emu.url, 61);

    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', {});
    assert.equal(sent.status, 200);
    assert.equal((await readOutbox(emu.url, account.apiKey)).at(-1)?.to, PHONE);
  }, fixedClock);
});

test('SMS without a method to verify', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);

    const none = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', {});
    assert.equal(none.status, 404);
    assert.equal(none.body.error, 'not_found');

    await enrollSms(emu.url, account.apiKey, PHONE);
    await enrollSms(emu.url, account.apiKey, '+12125550000');
    const ambiguous = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', {});
    assert.equal(ambiguous.status, 400);
    assert.equal(ambiguous.body.error, 'bad_request');

    const both = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE, tfa_method_id: 1 });
    assert.equal(both.body.error, 'bad_request');
  });
});

test('second send within 60 s is tfa_challenge_exists', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const first = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE });
    assert.equal(first.status, 200);

    await setClock(emu.url, 59);
    const second = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE });
    assert.equal(second.status, 400);
    assert.equal(second.body.error, 'tfa_challenge_exists');
    assert.match(second.body.msg, /resend/);

    const otherNumber = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: '+12125550000' });
    assert.equal(otherNumber.status, 200, 'the guard is per number');

    await setClock(emu.url, 60);
    const later = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE });
    assert.equal(later.status, 200);
  }, fixedClock);
});

test('resend sends the same code again', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE });

    await setClock(emu.url, 10);
    const resent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/resend/', { secret: sent.body.secret });
    assert.equal(resent.status, 200);
    assert.equal(resent.body.secret, sent.body.secret);

    const outbox = await readOutbox(emu.url, account.apiKey);
    assert.equal(outbox.length, 2);
    assert.equal(outbox[1]?.code, outbox[0]?.code);
    assert.equal(outbox[1]?.to, PHONE);
    assert.equal(outbox[1]?.sent_at, START + 10);

    const unknown = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/resend/', { secret: 'no-such-secret' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'challenge_not_found');

    const missing = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/resend/', {});
    assert.equal(missing.body.error, 'bad_request');
  }, fixedClock);
});

test('sixth send in an hour is sms_rate_limited', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE });
    for (let resend = 1; resend <= 4; resend += 1) {
      const response = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/resend/', { secret: sent.body.secret });
      assert.equal(response.status, 200, `resend ${resend}`);
    }

    const sixth = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/resend/', { secret: sent.body.secret });
    assert.equal(sixth.status, 429);
    assert.equal(sixth.body.error, 'sms_rate_limited');

    await setClock(emu.url, 120);
    const newSend = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE });
    assert.equal(newSend.status, 429, 'a new send counts too');
    assert.equal(newSend.body.error, 'sms_rate_limited');
    assert.equal((await readOutbox(emu.url, account.apiKey)).length, 5);

    await setClock(emu.url, 3600);
    const nextHour = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: PHONE });
    assert.equal(nextHour.status, 200);
  }, fixedClock);
});

test('SMS method locks after 3 wrong codes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { methodId } = await enrollSms(emu.url, account.apiKey, PHONE);
    await setClock(emu.url, 61);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { tfa_method_id: methodId });
    const code = await latestCode(emu.url, account.apiKey, 'sms');
    const verification = { tfa_method: 'sms', secret: sent.body.secret };

    for (const expectedCount of [1, 2]) {
      const response = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', { ...verification, code: wrongCodeFor(code) });
      assert.equal(response.status, 400);
      assert.equal(response.body.error, '2fa_verification_failed');
      assert.equal(response.body.fail_count, expectedCount);
      assert.equal(response.body.locked_until, null);
    }

    const third = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', { ...verification, code: wrongCodeFor(code) });
    assert.equal(third.status, 400);
    assert.equal(third.body.error, '2fa_verification_failed');
    assert.equal(third.body.fail_count, 3);
    assert.equal(third.body.locked_until, START + 61 + 15 * 60);

    const locked = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', { ...verification, code });
    assert.equal(locked.status, 429, 'even the right code is rejected while locked');
    assert.equal(locked.body.error, 'tfa_locked');
    assert.equal(locked.body.fail_count, 3);
    assert.equal(locked.body.locked_until, START + 61 + 15 * 60);

    const send = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { tfa_method_id: methodId });
    assert.equal(send.status, 429);
    assert.equal(send.body.error, 'tfa_locked');

    const state = await readState(emu.url);
    assert.equal(state.accounts[0].methods[0].wrong_codes_total, 3);
    assert.equal(state.accounts[0].methods[0].fail_count, 3);
  }, fixedClock);
});

test('SMS lock ends after 15 minutes', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const { methodId } = await enrollSms(emu.url, account.apiKey, PHONE);
    await setClock(emu.url, 61);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { tfa_method_id: methodId });
    const code = await latestCode(emu.url, account.apiKey, 'sms');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', { tfa_method: 'sms', secret: sent.body.secret, code: wrongCodeFor(code) });
    }

    await setClock(emu.url, 61 + 15 * 60 - 1);
    const stillLocked = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(stillLocked.body.methods[0].locked_until, START + 61 + 15 * 60);

    await setClock(emu.url, 61 + 15 * 60);
    const status = await callApi(emu.url, account.apiKey, 'GET', '/api/v0/tfa/status/');
    assert.equal(status.body.methods[0].locked_until, null);
    assert.equal(status.body.methods[0].fail_count, 0);

    const fresh = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', { tfa_method_id: methodId });
    assert.equal(fresh.status, 200);
    const login = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', {
      tfa_method: 'sms',
      secret: fresh.body.secret,
      code: await latestCode(emu.url, account.apiKey, 'sms'),
    });
    assert.equal(login.status, 200);
  }, fixedClock);
});

test('SMS verification challenge expires', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    await enrollSms(emu.url, account.apiKey, PHONE);
    await setClock(emu.url, 61);
    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/sms/', {});
    const code = await latestCode(emu.url, account.apiKey, 'sms');

    await setClock(emu.url, 61 + 600);
    const response = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', { tfa_method: 'sms', secret: sent.body.secret, code });
    assert.equal(response.status, 400);
    assert.equal(response.body.error, '2fa_expired');

    const state = await readState(emu.url);
    assert.equal(state.accounts[0].methods[0].fail_count, 0, 'an expired challenge costs no failure');
  }, fixedClock);
});

test('email code verifies a login', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url, 'ops@example.com');
    await enrollSms(emu.url, account.apiKey, PHONE);

    const sent = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/email/', {});
    assert.equal(sent.status, 200);
    assert.equal(sent.body.msg, '2FA Sent');
    const outbox = await readOutbox(emu.url, account.apiKey);
    assert.equal(outbox.at(-1)?.channel, 'email');
    assert.equal(outbox.at(-1)?.to, 'ops@example.com');

    const wrong = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', {
      tfa_method: 'email',
      secret: sent.body.secret,
      code: wrongCodeFor(outbox.at(-1)?.code ?? ''),
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, '2fa_verification_failed');
    assert.equal(wrong.body.fail_count, 1);

    const login = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/', {
      tfa_method: 'email',
      secret: sent.body.secret,
      code: outbox.at(-1)?.code,
    });
    assert.equal(login.status, 200);
    assert.equal(login.body.email, 'ops@example.com');

    const state = await readState(emu.url);
    assert.equal(state.accounts[0].email_wrong_codes_total, 1);
  });
});

test('email send needs a verified address', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url, 'ops@example.com', false);

    const response = await callApi(emu.url, account.apiKey, 'POST', '/api/v0/tfa/email/', {});
    assert.equal(response.status, 400);
    assert.equal(response.body.error, 'email_not_verified');
  });
});
