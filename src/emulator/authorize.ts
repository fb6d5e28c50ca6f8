/**
 * `POST` and `PUT /api/v0/tfa/authorize-new-method/`: opening the 30-minute window in which
 * methods may be added.
 */

import { readEnum, readId, readString } from './body.js';
import { createTotpChallenge, findLiveChallenge, removeChallenge, sendEmailChallenge, sendSmsChallenge } from './challenges.js';
import { apiRoute, type ApiContext, type EmulatorCore } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { assertNotLocked } from './failures.js';
import { AUTHORIZATION_WINDOW_SECONDS } from './limits.js';
import { resolveMethod } from './method-lookup.js';
import type { Route } from './server.js';
import { findMethod, type AccountModel, type ChallengeModel } from './state.js';
import { spendBackupCode, verifyChallengeCode, verifyTotpCode } from './verification.js';

const PATH = '/api/v0/tfa/authorize-new-method/';
const AUTHORIZED_MESSAGE = 'Authorization successful.';

export function authorizeRoutes(core: EmulatorCore): Route[] {
  return [apiRoute(core, 'POST', PATH, startAuthorization), apiRoute(core, 'PUT', PATH, completeAuthorization)];
}

/**
 * Opens the window at once with a backup code, or starts a challenge: a code by email or
 * SMS, or a TOTP challenge that the PUT completes with a code. An account with no method
 * is always challenged by email, whatever the request names.
 */
function startAuthorization(context: ApiContext): unknown {
  const { account, body, now } = context;
  const channel = readEnum(body, 'tfa_method', ['email', 'sms', 'totp'] as const);
  const methodId = readId(body, 'tfa_method_id');
  const backupCode = readString(body, 'backup_code', 64);

  if (backupCode !== undefined) {
    if (channel !== undefined || methodId !== undefined) throw badRequest('send backup_code alone, without tfa_method or tfa_method_id');
    spendBackupCode(account, backupCode);
    openWindow(account, now);
    return { success: true, msg: AUTHORIZED_MESSAGE };
  }

  if (account.methods.length === 0 || (channel === 'email' && methodId === undefined)) {
    return { success: true, secret: sendEmailChallenge(context, 'authorize').secret };
  }
  if (channel === 'email') throw badRequest('tfa_method_id names a stored method; email is not one, so send tfa_method "email" alone');
  if (channel === undefined && methodId === undefined) throw badRequest('send tfa_method, tfa_method_id or backup_code');

  const method = resolveMethod(account, methodId, channel);
  assertNotLocked(method, now);
  const challenge =
    method.method === 'sms'
      ? sendSmsChallenge(context, method.phone_number ?? '', 'authorize', method.id)
      : createTotpChallenge(context, method, 'authorize');
  return { success: true, secret: challenge.secret };
}

/** Completes a pending authorization with `{secret, code}` and opens the window. */
function completeAuthorization(context: ApiContext): unknown {
  const { state, account, body, now } = context;
  const code = readString(body, 'code', 64);
  const secret = readString(body, 'secret');

  if (code === undefined) throw new ApiError('missing_auth_value', 'Send the code of the pending authorization.');
  if (secret === undefined) throw new ApiError('missing_params', 'Send the secret that POST authorize-new-method returned, with the code.');

  const pending = state.challenges.some((challenge) => challenge.account_id === account.id && challenge.purpose === 'authorize');
  if (!pending) {
    throw new ApiError('no_pending_authorization', 'No authorization is pending for this account; POST authorize-new-method first.');
  }

  const challenge = findLiveChallenge(context, secret, ['authorize'], ['email', 'sms', 'totp']);
  if (challenge.channel === 'totp') verifyTotpChallenge(context, challenge, code);
  else verifyChallengeCode(context, challenge, code);

  openWindow(account, now);
  return { success: true, msg: AUTHORIZED_MESSAGE };
}

function verifyTotpChallenge(context: ApiContext, challenge: ChallengeModel, code: string): void {
  const method = challenge.method_id === null ? undefined : findMethod(context.account, challenge.method_id);
  if (method === undefined) {
    removeChallenge(context.state, challenge);
    throw new ApiError(
      'challenge_not_found',
      'The TOTP method this challenge was made for no longer exists; POST authorize-new-method again.',
    );
  }

  verifyTotpCode(method, code, context.now);
  removeChallenge(context.state, challenge);
}

function openWindow(account: AccountModel, now: number): void {
  account.authorized_until = now + AUTHORIZATION_WINDOW_SECONDS;
}
