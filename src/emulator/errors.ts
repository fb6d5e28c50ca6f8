/** Error responses of the emulated API: `{"error": code, "msg": text, ...}` with an HTTP status. */

/**
 * Every `error` code the emulator may respond with. The closed union keeps the table of the
 * API reference in one place; some codes (the aliases, `team_user_forbidden`,
 * `service_unavailable`) have no route producing them yet.
 */
export type ApiErrorCode =
  | 'bad_request'
  | 'auth_error'
  | 'missing_auth_value'
  | 'missing_params'
  | 'email_not_verified'
  | '2fa_expired'
  | 'challenge_not_found'
  | 'no_challenge_found'
  | 'tfa_challenge_exists'
  | 'authorization_required'
  | 'no_pending_authorization'
  | 'invalid_backup_code'
  | 'duplicate_tfa_method'
  | '2fa_verification_failed'
  | 'tfa_locked'
  | 'sms_rate_limited'
  | 'twilio_rate_limited'
  | 'phone_number_mismatch'
  | 'not_found'
  | 'method_not_allowed'
  | 'service_unavailable'
  | 'team_user_forbidden'
  | 'internal_error';

/** The HTTP status that goes with each code. */
export const API_ERROR_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  bad_request: 400,
  auth_error: 403,
  missing_auth_value: 400,
  missing_params: 400,
  email_not_verified: 400,
  '2fa_expired': 400,
  challenge_not_found: 400,
  no_challenge_found: 400,
  tfa_challenge_exists: 400,
  authorization_required: 403,
  no_pending_authorization: 400,
  invalid_backup_code: 401,
  duplicate_tfa_method: 400,
  '2fa_verification_failed': 400,
  tfa_locked: 429,
  sms_rate_limited: 429,
  twilio_rate_limited: 429,
  phone_number_mismatch: 400,
  not_found: 404,
  method_not_allowed: 405,
  service_unavailable: 503,
  team_user_forbidden: 403,
  internal_error: 500,
};

/**
 * An error response raised inside a handler. The server turns it into the JSON body
 * `{"error": code, "msg": message, ...extra}` with the code's status.
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  /** Further fields of the body, such as `fail_count` and `locked_until`. */
  readonly extra: Readonly<Record<string, unknown>>;
  /** Further response headers, such as `Allow` on a 405. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = API_ERROR_STATUS[code];
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }
}

/** Builds a `bad_request` error; the message names the field and what it must be. */
export function badRequest(message: string): ApiError {
  return new ApiError('bad_request', message);
}
