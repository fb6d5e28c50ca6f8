/**
 * The actions that carry a verification: login (`POST /api/v0/tfa/`), removing a method
 * (`DELETE /api/v0/tfa/`) and new backup codes (`PUT /api/v0/tfa/regen-backup-codes/`).
 */

import { readId } from './body.js';
import { removeChallengesOfMethod } from './challenges.js';
import { apiRoute, type ApiContext, type EmulatorCore } from './context.js';
import { ApiError, badRequest } from './errors.js';
import { newBackupCodes, newSessionKey } from './random.js';
import type { Route } from './server.js';
import { findMethod, type AccountModel } from './state.js';
import { verifyAction } from './verification.js';

export function verifiedActionRoutes(core: EmulatorCore): Route[] {
  return [
    apiRoute(core, 'POST', '/api/v0/tfa/', logIn),
    apiRoute(core, 'DELETE', '/api/v0/tfa/', removeMethod),
    apiRoute(core, 'PUT', '/api/v0/tfa/regen-backup-codes/', regenerateBackupCodes),
  ];
}

/** Returns the user object plus a new `session_key`. */
function logIn(context: ApiContext): unknown {
  const { account } = context;
  assertTfaEnabled(account);

  verifyAction(context);
  return {
    id: account.id,
    email: account.email,
    email_verified: account.email_verified,
    tfa_enabled: true,
    session_key: newSessionKey(),
  };
}

/**
 * Removes `target_id`, or the verifying TOTP or SMS method when `target_id` is absent.
 * The target is checked before the verification so that a bad id spends no code.
 * Removing the last method turns 2FA off and invalidates every backup code.
 */
function removeMethod(context: ApiContext): unknown {
  const { state, account, body, now } = context;
  const targetId = readId(body, 'target_id');

  if (targetId === undefined && (body['backup_code'] !== undefined || body['tfa_method'] === 'email')) {
    throw badRequest('target_id is required when verifying with a backup code or by email');
  }
  if (targetId !== undefined && findMethod(account, targetId) === undefined) {
    throw new ApiError('not_found', `target_id ${targetId} is not a 2FA method of this account.`);
  }

  const verified = verifyAction(context);
  const fallbackId = verified.kind === 'totp' || verified.kind === 'sms' ? verified.method.id : undefined;
  const target = findMethod(account, targetId ?? fallbackId ?? 0);
  if (target === undefined) throw new ApiError('not_found', 'The method to remove no longer exists.');

  account.methods = account.methods.filter((method) => method !== target);
  account.removed_methods.push({ ...target, removed_at: now });
  removeChallengesOfMethod(state, target.id);

  if (account.methods.length === 0) {
    account.backup_codes = [];
    return { msg: '2FA Successfully Disabled' };
  }

  // NOTE: the real service's choice of a new primary is unknown; the oldest method is a guess.
  const oldest = account.methods[0];
  if (target.is_primary && oldest !== undefined) oldest.is_primary = true;
  return { msg: '2FA method removed', remaining_methods: account.methods.length };
}

/** Replaces the backup codes with 10 new ones; the earlier set stops working. */
function regenerateBackupCodes(context: ApiContext): unknown {
  const { account } = context;
  assertTfaEnabled(account);

  verifyAction(context);
  const backupCodes = newBackupCodes();
  account.backup_codes = backupCodes.map((code) => ({ code, used: false }));
  return { msg: 'success', backup_codes: backupCodes };
}

function assertTfaEnabled(account: AccountModel): void {
  if (account.methods.length > 0) return;
  throw badRequest('2FA is not enabled on this account: it has no 2FA method');
}
