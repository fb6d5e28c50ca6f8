/** The context every endpoint handler receives, and the wrappers that turn handlers into routes. */

import type { RequestBody } from './body.js';
import type { EmulatorClock } from './clock.js';
import { ApiError } from './errors.js';
import { CHALLENGE_RETENTION_SECONDS, SMS_RATE_WINDOW_SECONDS } from './limits.js';
import { bearerToken, jsonReply, parseJsonBody, type EmulatorRequest, type HttpMethod, type Route } from './server.js';
import { findAccountByApiKey, type AccountModel, type EmulatorState } from './state.js';

/** The emulator's mutable state and clock, shared by all handlers. */
export interface EmulatorCore {
  state: EmulatorState;
  clock: EmulatorClock;
}

/** One request to an `/api/v0/` endpoint, after authentication. */
export interface ApiContext {
  state: EmulatorState;
  account: AccountModel;
  body: RequestBody;
  /** Emulator time in epoch seconds (float), read once per request. */
  now: number;
}

/** One request to an `/_emulator/` endpoint. */
export interface AdminContext {
  core: EmulatorCore;
  request: EmulatorRequest;
  body: RequestBody;
  now: number;
}

/**
 * Makes a route for an `/api/v0/` endpoint: `Authorization: Bearer KEY` must name an
 * account (else `auth_error`), then the body must be a JSON object. The handler returns the
 * response body or throws ApiError.
 */
export function apiRoute(core: EmulatorCore, method: HttpMethod, path: string, handle: (context: ApiContext) => unknown): Route {
  return {
    method,
    path,
    handler(request) {
      const account = authenticate(core, request);
      const body = method === 'GET' ? {} : parseJsonBody(request.bodyText);
      const now = core.clock.nowSeconds();

      pruneExpired(core.state, now);
      return jsonReply(handle({ state: core.state, account, body, now }));
    },
  };
}

/** Makes a route for an `/_emulator/` endpoint; the handler authenticates where it must. */
export function adminRoute(core: EmulatorCore, method: HttpMethod, path: string, handle: (context: AdminContext) => unknown): Route {
  return {
    method,
    path,
    handler(request) {
      const body = method === 'GET' ? {} : parseJsonBody(request.bodyText);
      return jsonReply(handle({ core, request, body, now: core.clock.nowSeconds() }));
    },
  };
}

/** Returns the account named by the request's bearer key, or throws `auth_error`. */
export function authenticate(core: EmulatorCore, request: EmulatorRequest): AccountModel {
  const apiKey = bearerToken(request.headers);
  if (apiKey === undefined) {
    throw new ApiError('auth_error', 'Missing API key: send the header "Authorization: Bearer <api key>".');
  }

  const account = findAccountByApiKey(core.state, apiKey);
  if (account === undefined) {
    throw new ApiError('auth_error', `Invalid API key ...${apiKey.slice(-4)}: no account has this key.`);
  }
  return account;
}

/** Drops challenges past their retention and SMS send times older than the rate window. */
function pruneExpired(state: EmulatorState, now: number): void {
  state.challenges = state.challenges.filter((challenge) => now - challenge.created_at < CHALLENGE_RETENTION_SECONDS);

  for (const [phoneNumber, times] of Object.entries(state.sms_sends)) {
    const recent = times.filter((time) => now - time < SMS_RATE_WINDOW_SECONDS);
    if (recent.length === 0) delete state.sms_sends[phoneNumber];
    else state.sms_sends[phoneNumber] = recent;
  }
}
