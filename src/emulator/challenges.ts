/**
 * Challenges: codes sent by SMS or email (to the outbox), and TOTP authorization
 * challenges that send nothing. Also the SMS send limits, which apply per phone number.
 */

import type { ApiContext } from './context.js';
import { ApiError } from './errors.js';
import { CHALLENGE_TTL_SECONDS, SMS_MAX_SENDS_PER_WINDOW, SMS_RATE_WINDOW_SECONDS, SMS_RESEND_GUARD_SECONDS } from './limits.js';
import { newChallengeSecret, newCode } from './random.js';
import type { ChallengeChannel, ChallengeModel, ChallengePurpose, EmulatorState, MethodModel } from './state.js';

/**
 * Sends a new SMS code to `phoneNumber` and returns its challenge, which replaces earlier
 * SMS challenges of this account for that number. Throws `tfa_challenge_exists` while one
 * younger than 60 seconds exists, and `sms_rate_limited` past 5 sends to the number in an hour.
 */
export function sendSmsChallenge(
  context: ApiContext,
  phoneNumber: string,
  purpose: ChallengePurpose,
  methodId: number | null,
): ChallengeModel {
  const { state, account, now } = context;
  const recent = state.challenges.find(
    (challenge) =>
      challenge.account_id === account.id &&
      challenge.channel === 'sms' &&
      challenge.phone_number === phoneNumber &&
      now - challenge.created_at < SMS_RESEND_GUARD_SECONDS,
  );
  if (recent !== undefined) {
    throw new ApiError(
      'tfa_challenge_exists',
      `An SMS code was sent to this number less than ${SMS_RESEND_GUARD_SECONDS} seconds ago; ` +
        'use POST /api/v0/tfa/sms/resend/ with its secret, or wait.',
    );
  }
  assertSmsSendAllowed(state, phoneNumber, now);

  state.challenges = state.challenges.filter(
    (challenge) => !(challenge.account_id === account.id && challenge.channel === 'sms' && challenge.phone_number === phoneNumber),
  );
  const challenge = addChallenge(context, { channel: 'sms', purpose, method_id: methodId, phone_number: phoneNumber, code: newCode() });
  deliverSms(context, challenge);
  return challenge;
}

/** Sends the code of an existing SMS challenge again; counts toward the send limit. */
export function resendSmsChallenge(context: ApiContext, secret: string): ChallengeModel {
  const challenge = findLiveChallenge(context, secret, ['verify', 'authorize', 'enroll'], ['sms']);
  const phoneNumber = challenge.phone_number ?? '';

  assertSmsSendAllowed(context.state, phoneNumber, context.now);
  deliverSms(context, challenge);
  return challenge;
}

/** Sends a new code to the account's email address; `email_not_verified` when it is not. */
export function sendEmailChallenge(context: ApiContext, purpose: ChallengePurpose): ChallengeModel {
  const { state, account, now } = context;
  if (!account.email_verified) {
    throw new ApiError(
      'email_not_verified',
      'The email address of this account is not verified, so no code can be sent to it; verify it first.',
    );
  }

  const challenge = addChallenge(context, { channel: 'email', purpose, method_id: null, phone_number: null, code: newCode() });
  state.outbox.push({ account_id: account.id, channel: 'email', to: account.email, code: challenge.code ?? '', sent_at: now });
  return challenge;
}

/** Creates a challenge that a TOTP code of `method` completes; nothing is sent. */
export function createTotpChallenge(context: ApiContext, method: MethodModel, purpose: ChallengePurpose): ChallengeModel {
  return addChallenge(context, { channel: 'totp', purpose, method_id: method.id, phone_number: null, code: null });
}

/**
 * Returns this account's challenge with `secret`, if its purpose and channel are among
 * those given. Throws `challenge_not_found` when there is none and `2fa_expired` when it is
 * older than 10 minutes.
 */
export function findLiveChallenge(
  context: ApiContext,
  secret: string,
  purposes: readonly ChallengePurpose[],
  channels: readonly ChallengeChannel[],
): ChallengeModel {
  const challenge = context.state.challenges.find(
    (candidate) =>
      candidate.secret === secret &&
      candidate.account_id === context.account.id &&
      purposes.includes(candidate.purpose) &&
      channels.includes(candidate.channel),
  );
  if (challenge === undefined) {
    throw new ApiError('challenge_not_found', `No ${channels.join(' or ')} challenge of this account has that secret; request a new code.`);
  }
  if (context.now - challenge.created_at >= CHALLENGE_TTL_SECONDS) {
    throw new ApiError('2fa_expired', `The challenge expired ${CHALLENGE_TTL_SECONDS / 60} minutes after it was sent; request a new code.`);
  }
  return challenge;
}

export function removeChallenge(state: EmulatorState, challenge: ChallengeModel): void {
  state.challenges = state.challenges.filter((candidate) => candidate !== challenge);
}

/** Drops the challenges bound to a method that is being removed. */
export function removeChallengesOfMethod(state: EmulatorState, methodId: number): void {
  state.challenges = state.challenges.filter((challenge) => challenge.method_id !== methodId);
}

function assertSmsSendAllowed(state: EmulatorState, phoneNumber: string, now: number): void {
  const sends = (state.sms_sends[phoneNumber] ?? []).filter((time) => now - time < SMS_RATE_WINDOW_SECONDS);
  if (sends.length < SMS_MAX_SENDS_PER_WINDOW) return;

  throw new ApiError(
    'sms_rate_limited',
    `Too many SMS codes sent to this number: at most ${SMS_MAX_SENDS_PER_WINDOW} per hour; wait or verify another way.`,
  );
}

function addChallenge(
  context: ApiContext,
  fields: Pick<ChallengeModel, 'channel' | 'purpose' | 'method_id' | 'phone_number' | 'code'>,
): ChallengeModel {
  const challenge: ChallengeModel = {
    secret: newChallengeSecret(),
    account_id: context.account.id,
    ...fields,
    created_at: context.now,
    fail_count: 0,
  };
  context.state.challenges.push(challenge);
  return challenge;
}

function deliverSms(context: ApiContext, challenge: ChallengeModel): void {
  const { state, account, now } = context;
  const phoneNumber = challenge.phone_number ?? '';

  state.sms_sends[phoneNumber] = [...(state.sms_sends[phoneNumber] ?? []), now];
  state.outbox.push({ account_id: account.id, channel: 'sms', to: phoneNumber, code: challenge.code ?? '', sent_at: now });
}
