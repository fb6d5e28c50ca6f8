/**
 * The verification that login, delete, regen-backup-codes and the PUT of
 * authorize-new-method share: a TOTP code, an SMS or email code with its challenge secret,
 * or a backup code. Wrong codes count toward the method's lock.
 */

import { timingSafeEqual } from 'node:crypto';
import { verifySync } from 'otplib';

import { readEnum, readId, readString } from './body.js';
import { findLiveChallenge, removeChallenge } from './challenges.js';
import type { ApiContext } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { assertNotLocked, recordChallengeFailure, recordMethodFailure, recordMethodSuccess } from './failures.js';
import { TOTP_DIGITS, TOTP_PERIOD_SECONDS } from './limits.js';
import { resolveMethod } from './method-lookup.js';
import { findMethod, type AccountModel, type ChallengeModel, type MethodModel } from './state.js';

/** The verification a request passed: a TOTP or SMS method, email, or a backup code. */
export type VerifiedBy =
  | { kind: 'totp'; method: MethodModel }
  | { kind: 'sms'; method: MethodModel }
  | { kind: 'email' }
  | { kind: 'backup_code' };

/** Longest `code` or `backup_code` read; anything longer is a `bad_request`. */
const MAX_CODE_LENGTH = 64;

const TOTP_CODE_PATTERN = new RegExp(`^[0-9]{${TOTP_DIGITS}}$`);

/**
 * Checks the verification in the request body and returns what it used. Throws the API
 * error for a missing, malformed, wrong, replayed or locked verification. Counts and
 * challenge removals done before a throw stay in the state.
 */
export function verifyAction(context: ApiContext): VerifiedBy {
  const { body, account, now } = context;
  const backupCode = readString(body, 'backup_code', MAX_CODE_LENGTH);
  const code = readString(body, 'code', MAX_CODE_LENGTH);
  const channel = readEnum(body, 'tfa_method', ['totp', 'sms', 'email'] as const);
  const methodId = readId(body, 'tfa_method_id');
  const secret = readString(body, 'secret');

  if (backupCode !== undefined) {
    if (code !== undefined) throw badRequest('send either code or backup_code, not both');
    spendBackupCode(account, backupCode);
    return { kind: 'backup_code' };
  }
  if (code === undefined) throw new ApiError('missing_auth_value', 'Send a code (with tfa_method) or a backup_code.');
  if (channel === undefined) throw badRequest('tfa_method is required with code: "totp", "sms" or "email"');

  if (channel === 'totp') {
    const method = resolveMethod(account, methodId, 'totp');
    verifyTotpCode(method, code, now);
    return { kind: 'totp', method };
  }

  if (secret === undefined) {
    const channelName = channel === 'sms' ? 'An SMS' : 'An email';
    throw new ApiError('missing_params', `${channelName} code needs its challenge secret: send code and secret.`);
  }
  const challenge = findLiveChallenge(context, secret, ['verify'], [channel]);
  if (methodId !== undefined && challenge.method_id !== methodId) {
    throw new ApiError('challenge_not_found', `No SMS challenge of tfa_method_id ${methodId} has that secret; request a new code.`);
  }
  const method = verifyChallengeCode(context, challenge, code);
  return method === undefined ? { kind: 'email' } : { kind: 'sms', method };
}

/**
 * Accepts a TOTP code of `method` for the current step or one step either side, unless a
 * code of that step or a later one was already accepted. Throws `tfa_locked` or
 * `2fa_verification_failed`; a replay counts as a wrong code.
 */
export function verifyTotpCode(method: MethodModel, code: string, now: number): void {
  assertNotLocked(method, now);

  const step = matchTotpStep(method.secret ?? '', code, now);
  if (step === undefined) throw recordMethodFailure(method, now, 'Wrong TOTP code.');
  if (method.last_accepted_step !== null && step <= method.last_accepted_step) {
    throw recordMethodFailure(method, now, 'This TOTP code (or a later one) was already used; wait for the next 30-second step.');
  }

  method.last_accepted_step = step;
  recordMethodSuccess(method, now);
}

/**
 * Returns the time step (epoch seconds / 30) that `code` belongs to, checking the current
 * step and one either side, or undefined when it matches none.
 */
export function matchTotpStep(seed: string, code: string, now: number): number | undefined {
  // otplib throws on a token of the wrong length or with non-digits; here that is a wrong code.
  if (!TOTP_CODE_PATTERN.test(code)) return undefined;

  const result = verifySync({
    secret: seed,
    token: code,
    epoch: Math.floor(now),
    period: TOTP_PERIOD_SECONDS,
    digits: TOTP_DIGITS,
    // In seconds: [now - 30, now + 30] covers exactly the previous, current and next step.
    epochTolerance: TOTP_PERIOD_SECONDS,
  });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/**
 * Checks the code of an SMS or email challenge and removes the challenge once it is
 * spent. Returns the SMS method the challenge belongs to, or undefined when none does
 * (email, SMS enrollment). Wrong codes count against that method, else against the
 * challenge itself.
 */
export function verifyChallengeCode(context: ApiContext, challenge: ChallengeModel, code: string): MethodModel | undefined {
  const { state, account, now } = context;
  const method = challenge.method_id === null ? undefined : findMethod(account, challenge.method_id);
  if (challenge.method_id !== null && method === undefined) {
    removeChallenge(state, challenge);
    throw new ApiError('challenge_not_found', 'The method this challenge was sent for no longer exists; request a new code.');
  }

  if (method !== undefined) {
    assertNotLocked(method, now);
    if (!codesEqual(code, challenge.code ?? '')) throw recordMethodFailure(method, now, 'Wrong SMS code.');
    recordMethodSuccess(method, now);
  } else if (!codesEqual(code, challenge.code ?? '')) {
    throw recordChallengeFailure(state, account, challenge, `Wrong ${challenge.channel === 'email' ? 'email' : 'SMS'} code.`);
  }

  removeChallenge(state, challenge);
  return method;
}

/** Marks a backup code used; `invalid_backup_code` (401) when it is unknown or already used. */
export function spendBackupCode(account: AccountModel, code: string): void {
  const match = account.backup_codes.find((candidate) => codesEqual(candidate.code, code));
  if (match === undefined) throw new ApiError('invalid_backup_code', 'Invalid backup code: it is not one of the current set.');
  if (match.used) throw new ApiError('invalid_backup_code', 'Invalid backup code: it was already used.');
  match.used = true;
}

/** Compares two codes in time that does not depend on where they differ. */
export function codesEqual(received: string, expected: string): boolean {
  const receivedBytes = Buffer.from(received, 'utf8');
  const expectedBytes = Buffer.from(expected, 'utf8');
  return receivedBytes.length === expectedBytes.length && timingSafeEqual(receivedBytes, expectedBytes);
}
