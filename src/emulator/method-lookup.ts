/** Finding the method a request means, from `tfa_method_id` or from `tfa_method` alone. */

import type { MethodType } from '../api/types.js';
import { ApiError, badRequest } from './errors.js';
import { findMethod, methodsOfType, type AccountModel, type MethodModel } from './state.js';

const TYPE_NAMES: Record<MethodType, string> = { totp: 'TOTP', sms: 'SMS' };

/**
 * Returns the method that `id` names, or else the account's only method of `type`.
 * Throws `not_found` for an id of no method of this account or when the account has no
 * method of `type`, and `bad_request` when the id's method has another type or when
 * several methods of `type` leave the choice open.
 */
export function resolveMethod(account: AccountModel, id: number | undefined, type: MethodType | undefined): MethodModel {
  if (id !== undefined) {
    const method = findMethod(account, id);
    if (method === undefined) throw new ApiError('not_found', `tfa_method_id ${id} is not a 2FA method of this account.`);
    if (type !== undefined && method.method !== type) {
      throw badRequest(`tfa_method_id ${id} is a ${TYPE_NAMES[method.method]} method, not ${TYPE_NAMES[type]}`);
    }
    return method;
  }

  if (type === undefined) throw badRequest('send tfa_method_id or tfa_method');

  const candidates = methodsOfType(account, type);
  const only = candidates[0];
  if (only === undefined) throw new ApiError('not_found', `This account has no ${TYPE_NAMES[type]} method.`);
  if (candidates.length > 1) {
    throw badRequest(`this account has ${candidates.length} ${TYPE_NAMES[type]} methods; send tfa_method_id to choose one`);
  }
  return only;
}
