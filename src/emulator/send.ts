/** `POST /api/v0/tfa/sms/`, `POST /api/v0/tfa/sms/resend/` and `POST /api/v0/tfa/email/`: sending codes. */

import { readId, readPhoneNumber, readString } from './body.js';
import { resendSmsChallenge, sendEmailChallenge, sendSmsChallenge } from './challenges.js';
import { apiRoute, type ApiContext, type EmulatorCore } from './context.js';
import { badRequest } from './errors.js';
import { assertNotLocked } from './failures.js';
import { resolveMethod } from './method-lookup.js';
import type { Route } from './server.js';

const SENT_MESSAGE = '2FA Sent';

export function sendRoutes(core: EmulatorCore): Route[] {
  return [
    apiRoute(core, 'POST', '/api/v0/tfa/sms/', sendSmsCode),
    apiRoute(core, 'POST', '/api/v0/tfa/sms/resend/', resendSmsCode),
    apiRoute(core, 'POST', '/api/v0/tfa/email/', sendEmailCode),
  ];
}

/**
 * With `phone_number`, sends an enrollment code for a new SMS method. Otherwise sends a
 * verification code for the SMS method that `tfa_method_id` names, or for the account's
 * only SMS method.
 */
function sendSmsCode(context: ApiContext): unknown {
  const { account, body, now } = context;
  const phoneNumber = readPhoneNumber(body);
  const methodId = readId(body, 'tfa_method_id');

  if (phoneNumber !== undefined) {
    if (methodId !== undefined) throw badRequest('send phone_number (to enroll a number) or tfa_method_id (to verify), not both');
    return { msg: SENT_MESSAGE, secret: sendSmsChallenge(context, phoneNumber, 'enroll', null).secret };
  }

  const method = resolveMethod(account, methodId, 'sms');
  assertNotLocked(method, now);
  return { msg: SENT_MESSAGE, secret: sendSmsChallenge(context, method.phone_number ?? '', 'verify', method.id).secret };
}

/** Sends the code of an existing SMS challenge again, bypassing the 60-second guard. */
function resendSmsCode(context: ApiContext): unknown {
  const secret = readString(context.body, 'secret');
  if (secret === undefined) throw badRequest('secret is required: the challenge secret of the SMS to send again');

  return { msg: SENT_MESSAGE, secret: resendSmsChallenge(context, secret).secret };
}

function sendEmailCode(context: ApiContext): unknown {
  return { msg: SENT_MESSAGE, secret: sendEmailChallenge(context, 'verify').secret };
}
