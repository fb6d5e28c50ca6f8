import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { VastClient } from '../src/api/client.js';
import type { ClientOptions, Exchange } from '../src/api/client.js';
import { ApiError } from '../src/api/errors.js';
import { findLeakedSecrets } from '../src/api/redact.js';
import type { RunningEmulator } from '../src/emulator/index.js';
import {
  authorizeByEmail,
  createAccount,
  emulatorNow,
  enrollSms,
  enrollTotp,
  latestCode,
  readState,
  totpCode,
  withEmulator,
} from './helpers/emulator.js';

const PHONE = '+12125551234';

async function accountClient(emu: RunningEmulator, options: Partial<ClientOptions> = {}): Promise<{ client: VastClient; apiKey: string }> {
  const { apiKey } = await createAccount(emu.url, undefined, true);
  return { client: new VastClient({ baseUrl: emu.url, apiKey, retries: 0, ...options }), apiKey };
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

describe('VastClient against the emulator', () => {
  test('fresh account has no methods', async () => {
    await withEmulator(async (emu) => {
      const { client } = await accountClient(emu);

      const status = await client.getStatus();

      assert.equal(status.tfa_enabled, false);
      assert.deepEqual(status.methods, []);
      assert.equal(status.backup_codes_remaining, 0);
      assert.equal(status.new_method_authorized, false);
    });
  });

  test('email authorization and TOTP enrollment', async () => {
    await withEmulator(async (emu) => {
      const exchanges: Exchange[] = [];
      const { client, apiKey } = await accountClient(emu, { onExchange: (exchange) => exchanges.push(exchange) });

      const authorization = await client.authorizeNewMethod({ tfa_method: 'email' });
      assert.equal(authorization.success, true);
      assert.equal(typeof authorization.secret, 'string');
      const emailCode = await latestCode(emu.url, apiKey, 'email');
      const completed = await client.completeAuthorization({ secret: authorization.secret ?? '', code: emailCode });
      assert.equal(completed.success, true);
      assert.equal(typeof completed.msg, 'string');
      assert.equal((await client.getStatus()).new_method_authorized, true);

      const setup = await client.totpSetup();
      assert.match(setup.secret, /^[A-Z2-7]{32}$/);
      assert.match(setup.provisioning_uri, /^otpauth:\/\/totp\//);
      const code = await totpCode(setup.secret, await emulatorNow(emu.url));
      const confirmed = await client.confirmNew({ tfa_method: 'totp', code, secret: setup.secret, label: 'ci-bot' });
      assert.equal(confirmed.success, true);
      assert.equal(confirmed.backup_codes?.length, 10);

      const status = await client.getStatus();
      assert.equal(status.tfa_enabled, true);
      assert.equal(status.methods.length, 1);
      assert.equal(status.methods[0]?.method, 'totp');
      assert.equal(status.methods[0]?.label, 'ci-bot');
      assert.equal(status.backup_codes_remaining, 10);

      // The --explain trace of the whole flow must not carry any secret the flow handled.
      const secrets = [apiKey, authorization.secret ?? '', emailCode, setup.secret, code, ...(confirmed.backup_codes ?? [])];
      assert.ok(exchanges.length >= 6, `${exchanges.length} exchanges`);
      assert.deepEqual(findLeakedSecrets(exchanges, secrets), []);
    });
  });

  test('SMS enrollment with resend', async () => {
    await withEmulator(async (emu) => {
      const { client, apiKey } = await accountClient(emu);
      await authorizeByEmail(emu.url, apiKey);

      const sent = await client.sendSms({ phone_number: PHONE });
      assert.equal(typeof sent.secret, 'string');
      const resent = await client.resendSms({ secret: sent.secret });
      assert.equal(typeof resent.msg, 'string');
      const smsMessages = (await readState(emu.url)).outbox.filter((message: { channel: string }) => message.channel === 'sms');
      assert.equal(smsMessages.length, 2);

      const code = await latestCode(emu.url, apiKey, 'sms');
      const confirmed = await client.confirmNew({ tfa_method: 'sms', code, secret: sent.secret, phone_number: PHONE, label: 'oncall' });
      assert.equal(confirmed.success, true);
      assert.equal(confirmed.backup_codes?.length, 10);

      const status = await client.getStatus();
      assert.equal(status.methods[0]?.method, 'sms');
      assert.equal(status.methods[0]?.phone_number, '******1234');
    });
  });

  test('update, login, regenerate and delete', async () => {
    await withEmulator(async (emu) => {
      const { client, apiKey } = await accountClient(emu);
      const totp = await enrollTotp(emu.url, apiKey, 'ci-bot');
      const sms = await enrollSms(emu.url, apiKey, PHONE, 'oncall');

      const updated = await client.updateMethod({ tfa_method_id: sms.methodId, label: 'pager', is_primary: true });
      assert.equal(updated.success, true);
      assert.equal(updated.method.id, sms.methodId);
      assert.equal(updated.method.label, 'pager');
      assert.equal(updated.method.is_primary, true);

      const challenge = await client.sendEmail();
      const session = await client.login({ tfa_method: 'email', code: await latestCode(emu.url, apiKey, 'email'), secret: challenge.secret });
      assert.equal(typeof session['session_key'], 'string');

      // The enrollment spent this step's TOTP code, so verify with the next step's code.
      emu.setClockOffset(30);
      const nextCode = await totpCode(totp.secret, await emulatorNow(emu.url));
      const regenerated = await client.regenerateBackupCodes({ tfa_method: 'totp', code: nextCode });
      assert.equal(regenerated.backup_codes.length, 10);
      assert.notDeepEqual(regenerated.backup_codes, totp.backupCodes);

      const backupCode = regenerated.backup_codes[0] ?? '';
      const deleted = await client.deleteMethod({ backup_code: backupCode, target_id: sms.methodId });
      assert.equal(deleted.remaining_methods, 1);

      const status = await client.getStatus();
      assert.deepEqual(status.methods.map((method) => method.id), [totp.methodId]);
      assert.equal(status.backup_codes_remaining, 9);
    });
  });

  test('backup code authorizes in one step', async () => {
    await withEmulator(async (emu) => {
      const { client, apiKey } = await accountClient(emu);
      const { backupCodes } = await enrollTotp(emu.url, apiKey, 'ci-bot');

      const authorization = await client.authorizeNewMethod({ backup_code: backupCodes?.[0] ?? '' });

      assert.equal(authorization.success, true);
      assert.equal(authorization.secret, undefined);
      assert.equal((await client.getStatus()).new_method_authorized, true);
    });
  });

  test('clock offset follows the server Date', async () => {
    await withEmulator(async (emu) => {
      const { client } = await accountClient(emu);
      emu.setClockOffset(3600);

      await client.getStatus();

      const offset = client.clockOffsetMs;
      assert.ok(offset !== undefined, 'no clock offset recorded');
      assert.ok(Math.abs(offset - 3_600_000) < 1500, `clock offset ${offset} ms`);
    });
  });
});

describe('VastClient errors from the emulator', () => {
  test('unknown key is auth_error', async () => {
    await withEmulator(async (emu) => {
      const client = new VastClient({ baseUrl: emu.url, apiKey: 'not-a-real-key-0000wxyz', retries: 0 });

      const error = await apiErrorFrom(client.getStatus());

      assert.equal(error.status, 403);
      assert.equal(error.apiCode, 'auth_error');
      assert.ok(error.message.includes('...wxyz'), error.message);
      assert.match(error.hint ?? '', /--api-key/);
    });
  });

  test('wrong TOTP code is verification failure', async () => {
    await withEmulator(async (emu) => {
      const { client, apiKey } = await accountClient(emu);
      const totp = await enrollTotp(emu.url, apiKey, 'ci-bot');
      const rightCode = await totpCode(totp.secret, await emulatorNow(emu.url));
      const wrongCode = rightCode === '000000' ? '111111' : '000000';

      const error = await apiErrorFrom(client.regenerateBackupCodes({ tfa_method: 'totp', code: wrongCode }));

      assert.equal(error.status, 400);
      assert.equal(error.apiCode, '2fa_verification_failed');
      assert.equal(error.body.fail_count, 1);
      assert.match(error.message, /^PUT \/api\/v0\/tfa\/regen-backup-codes\/ failed: 400 2fa_verification_failed/);
      assert.equal(error.message.includes(wrongCode), false, error.message);
    });
  });

  test('unknown method id is not_found', async () => {
    await withEmulator(async (emu) => {
      const { client, apiKey } = await accountClient(emu);
      await enrollTotp(emu.url, apiKey, 'ci-bot');

      const error = await apiErrorFrom(client.updateMethod({ tfa_method_id: 9999, label: 'ghost' }));

      assert.equal(error.status, 404);
      assert.equal(error.apiCode, 'not_found');
      assert.equal(error.method, 'PUT');
      assert.equal(error.path, '/api/v0/tfa/update/');
    });
  });

  test('confirm without authorization is rejected', async () => {
    await withEmulator(async (emu) => {
      const { client, apiKey } = await accountClient(emu);
      await enrollTotp(emu.url, apiKey, 'ci-bot');
      // The enrollment's authorization window lasts 30 minutes, so step past it.
      emu.setClockOffset(31 * 60);

      const setup = await client.totpSetup();
      const code = await totpCode(setup.secret, await emulatorNow(emu.url));
      const error = await apiErrorFrom(client.confirmNew({ tfa_method: 'totp', code, secret: setup.secret }));

      assert.equal(error.status, 403);
      assert.equal(error.apiCode, 'authorization_required');
    });
  });
});
