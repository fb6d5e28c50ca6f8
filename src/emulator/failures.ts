/** Failure counting and locks: what a wrong code costs a method or a challenge. */

import { removeChallenge } from './challenges.js';
import { ApiError } from './errors.js';
import { LOCK_SECONDS, MAX_FAILURES_PER_CHALLENGE, MAX_FAILURES_SMS, MAX_FAILURES_TOTP } from './limits.js';
import { expireLock, type AccountModel, type ChallengeModel, type EmulatorState, type MethodModel } from './state.js';

/** Wrong codes in a row that lock this method. */
export function maxFailures(method: MethodModel): number {
  return method.method === 'sms' ? MAX_FAILURES_SMS : MAX_FAILURES_TOTP;
}

/** Throws `tfa_locked` (429) while the method is locked, without looking at any code. */
export function assertNotLocked(method: MethodModel, now: number): void {
  expireLock(method, now);
  if (method.locked_until === null) return;

  const message = `2FA method ${method.id} is locked after ${method.fail_count} wrong codes; try again after locked_until.`;
  throw new ApiError('tfa_locked', message, {
    extra: { fail_count: method.fail_count, locked_until: method.locked_until },
  });
}

/**
 * Counts a wrong code against the method, locks it at its limit, and returns the
 * `2fa_verification_failed` error for the caller to throw.
 */
export function recordMethodFailure(method: MethodModel, now: number, reason: string): ApiError {
  method.fail_count += 1;
  method.wrong_codes_total += 1;
  if (method.fail_count >= maxFailures(method)) method.locked_until = now + LOCK_SECONDS;

  const lockNote = method.locked_until === null ? '' : ' The method is now locked.';
  return new ApiError('2fa_verification_failed', `${reason}${lockNote}`, {
    extra: { fail_count: method.fail_count, locked_until: method.locked_until },
  });
}

/** Clears the method's failures and sets `last_used` after an accepted code. */
export function recordMethodSuccess(method: MethodModel, now: number): void {
  method.fail_count = 0;
  method.locked_until = null;
  method.last_used = now;
}

/**
 * Counts a wrong code against a challenge that has no method behind it (email, SMS
 * enrollment), discards the challenge at its limit, and returns the error to throw.
 */
export function recordChallengeFailure(state: EmulatorState, account: AccountModel, challenge: ChallengeModel, reason: string): ApiError {
  challenge.fail_count += 1;
  if (challenge.channel === 'email') account.email_wrong_codes_total += 1;

  const discarded = challenge.fail_count >= MAX_FAILURES_PER_CHALLENGE;
  if (discarded) removeChallenge(state, challenge);

  const discardNote = discarded ? ' The challenge is discarded; request a new code.' : '';
  return new ApiError('2fa_verification_failed', `${reason}${discardNote}`, {
    extra: { fail_count: challenge.fail_count, locked_until: null },
  });
}
