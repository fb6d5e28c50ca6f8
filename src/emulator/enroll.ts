/** `POST /api/v0/tfa/totp-setup/` and `POST /api/v0/tfa/confirm-new/`: adding a method. */

import { generateURI } from 'otplib';

import type { MethodType } from '../api/types.js';
import { readLabel, readMethodType, readPhoneNumber, readString } from './body.js';
import { findLiveChallenge, removeChallenge } from './challenges.js';
import { apiRoute, type ApiContext, type EmulatorCore } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { recordChallengeFailure } from './failures.js';
import { newBackupCodes, newTotpSeed } from './random.js';
import type { Route } from './server.js';
import { isAuthorized, type AccountModel, type MethodModel } from './state.js';
import { codesEqual, matchTotpStep } from './verification.js';

/** Seeds kept per account for confirm-new; the oldest are forgotten beyond this. */
const MAX_ISSUED_SEEDS = 50;

const ISSUER = 'vast.ai';

export function enrollRoutes(core: EmulatorCore): Route[] {
  return [
    apiRoute(core, 'POST', '/api/v0/tfa/totp-setup/', setUpTotp),
    apiRoute(core, 'POST', '/api/v0/tfa/confirm-new/', confirmNewMethod),
  ];
}

/** Issues a new seed; it adds nothing until confirm-new, and needs no authorization. */
function setUpTotp({ account, now }: ApiContext): unknown {
  const secret = newTotpSeed();

  account.issued_seeds.push({ secret, issued_at: now, used: false, fail_count: 0 });
  // NOTE: a seed issued more than MAX_ISSUED_SEEDS setups ago is forgotten, so
  // confirm-new then rejects it as unknown.
  if (account.issued_seeds.length > MAX_ISSUED_SEEDS) account.issued_seeds.splice(0, account.issued_seeds.length - MAX_ISSUED_SEEDS);

  return { secret, provisioning_uri: generateURI({ issuer: ISSUER, label: account.email, secret }) };
}

/**
 * Adds a TOTP method from a seed that totp-setup issued to this account, or an SMS method
 * from an enrollment challenge. Needs an open authorization window. The account's first
 * method becomes primary and brings the first set of backup codes, shown only here.
 */
function confirmNewMethod(context: ApiContext): unknown {
  const { account, body, now } = context;
  const type = readMethodType(body);
  const code = readString(body, 'code', 64);
  const secret = readString(body, 'secret');
  const label = readLabel(body) ?? null;
  const phoneNumber = readPhoneNumber(body);

  if (type === undefined) throw badRequest('tfa_method is required: "totp" or "sms"');
  if (type === 'sms' && phoneNumber === undefined) throw badRequest('phone_number is required for an SMS method');
  if (type === 'totp' && phoneNumber !== undefined) throw badRequest('phone_number applies to SMS methods only');
  if (code === undefined) throw new ApiError('missing_auth_value', 'Send the code that proves the new method works.');
  if (secret === undefined) {
    const what = type === 'totp' ? 'the seed from totp-setup' : 'the SMS challenge secret';
    throw new ApiError('missing_params', `Send ${what} as secret, with the code.`);
  }
  if (!isAuthorized(account, now)) {
    throw new ApiError('authorization_required', 'Adding a method needs an open authorization window; complete authorize-new-method first.');
  }

  const method =
    type === 'totp'
      ? confirmTotp(context, secret, code, label)
      : confirmSms(context, secret, code, phoneNumber ?? '', label);
  const isFirst = account.methods.length === 0;
  method.is_primary = isFirst;
  account.methods.push(method);

  const msg = type === 'totp' ? 'TOTP 2FA method added successfully.' : 'SMS 2FA method added successfully.';
  if (!isFirst) return { success: true, msg };

  const backupCodes = newBackupCodes();
  account.backup_codes = backupCodes.map((backupCode) => ({ code: backupCode, used: false }));
  return { success: true, msg, backup_codes: backupCodes };
}

function confirmTotp(context: ApiContext, seed: string, code: string, label: string | null): MethodModel {
  const { state, account, now } = context;
  const issued = account.issued_seeds.find((candidate) => candidate.secret === seed && !candidate.used);
  if (issued === undefined) {
    throw new ApiError(
      'challenge_not_found',
      'That seed was not issued to this account by totp-setup, or it was already used; call totp-setup again.',
    );
  }

  const step = matchTotpStep(seed, code, now);
  if (step === undefined) {
    issued.fail_count += 1;
    throw new ApiError('2fa_verification_failed', 'Wrong TOTP code for the new seed.', {
      extra: { fail_count: issued.fail_count, locked_until: null },
    });
  }

  issued.used = true;
  const method = newMethod(state, account, 'totp', label, now);
  method.secret = seed;
  // The enrollment code counts as used, so it cannot verify an action in the same step.
  method.last_accepted_step = step;
  return method;
}

function confirmSms(context: ApiContext, secret: string, code: string, phoneNumber: string, label: string | null): MethodModel {
  const { state, account, now } = context;
  const challenge = findLiveChallenge(context, secret, ['enroll'], ['sms']);

  if (challenge.phone_number !== phoneNumber) {
    throw new ApiError('phone_number_mismatch', 'phone_number differs from the number the code was sent to; send the same number.');
  }
  if (account.methods.some((method) => method.method === 'sms' && method.phone_number === phoneNumber)) {
    throw new ApiError('duplicate_tfa_method', `An SMS method with the number ******${phoneNumber.slice(-4)} already exists on this account.`);
  }
  if (!codesEqual(code, challenge.code ?? '')) throw recordChallengeFailure(state, account, challenge, 'Wrong SMS code.');

  removeChallenge(state, challenge);
  const method = newMethod(state, account, 'sms', label, now);
  method.phone_number = phoneNumber;
  return method;
}

function newMethod(state: ApiContext['state'], account: AccountModel, type: MethodType, label: string | null, now: number): MethodModel {
  const id = state.next_method_id;
  state.next_method_id += 1;

  return {
    id,
    user_id: account.id,
    method: type,
    label,
    phone_number: null,
    secret: null,
    is_primary: false,
    fail_count: 0,
    locked_until: null,
    created_at: now,
    last_used: null,
    last_accepted_step: null,
    wrong_codes_total: 0,
  };
}
