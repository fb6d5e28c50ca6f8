/** `GET /api/v0/tfa/status/` and `PUT /api/v0/tfa/update/`. */

import { readBoolean, readId, readLabel, readMethodType } from './body.js';
import { apiRoute, type ApiContext, type EmulatorCore } from './context.js';
import { badRequest } from './errors.js';
import { resolveMethod } from './method-lookup.js';
import type { Route } from './server.js';
import { isAuthorized, toLiveMethod, unusedBackupCodeCount } from './state.js';

export function statusRoutes(core: EmulatorCore): Route[] {
  return [
    apiRoute(core, 'GET', '/api/v0/tfa/status/', readStatus),
    apiRoute(core, 'PUT', '/api/v0/tfa/update/', updateMethod),
  ];
}

function readStatus({ account, now }: ApiContext): unknown {
  return {
    tfa_enabled: account.methods.length > 0,
    methods: account.methods.map((method) => toLiveMethod(method, now)),
    backup_codes_remaining: unusedBackupCodeCount(account),
    new_method_authorized: isAuthorized(account, now),
  };
}

/** Changes a method's label or makes it primary; needs no verification. */
function updateMethod({ account, body, now }: ApiContext): unknown {
  const methodId = readId(body, 'tfa_method_id');
  const type = readMethodType(body);
  const label = readLabel(body);
  const isPrimary = readBoolean(body, 'is_primary');

  if (label === undefined && isPrimary === undefined) throw badRequest('send label, is_primary or both');
  const method = resolveMethod(account, methodId, type);

  // NOTE: whether the real service lets a client clear the primary flag is unknown. The
  // stricter reading keeps one primary method, so the client must make another one primary.
  if (isPrimary === false && method.is_primary) {
    throw badRequest(`is_primary cannot be false for the primary method ${method.id}; make another method primary instead`);
  }

  if (label !== undefined) method.label = label;
  if (isPrimary === true) {
    for (const other of account.methods) other.is_primary = other === method;
  }

  return { success: true, msg: '2FA method updated', method: toLiveMethod(method, now) };
}
