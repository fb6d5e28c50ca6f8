import { TfaError } from '../errors.js';
import type { ErrorBody } from './types.js';

/** Everything an ApiError message is built from. Bodies and texts must already be redacted. */
export interface ApiErrorDetails {
  status: number;
  body: ErrorBody;
  method: string;
  path: string;
  baseUrl: string;
  keyHint: string;
  /** The wait the server asked for with `Retry-After`, in ms. */
  retryAfterMs?: number | undefined;
  /** How many attempts the call made. Set once the call was retried or its budget ran out. */
  attempts?: number | undefined;
  /** A sentence appended to the message, e.g. why retrying stopped. */
  note?: string | undefined;
  /** Replaces the hint derived from the status and error code. */
  hint?: string | undefined;
}

/** An error response from the API (any non-2xx status), or a 2xx response that breaks the protocol. */
export class ApiError extends TfaError {
  readonly status: number;
  /** The API's `error` code, e.g. `2fa_verification_failed`, or `http_<status>` when the body was not JSON. */
  readonly apiCode: string;
  /** The error body with secret fields redacted. */
  readonly body: ErrorBody;
  readonly method: string;
  readonly path: string;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number | undefined;
  readonly details: ApiErrorDetails;

  constructor(details: ApiErrorDetails) {
    const { message, hint } = describeApiError(details);
    super('api_error', message, { hint });
    this.status = details.status;
    this.apiCode = details.body.error;
    this.body = details.body;
    this.method = details.method;
    this.path = details.path;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts;
    this.details = details;
  }

  /** Returns a copy of this error whose message counts the attempts made. */
  withAttempts(attempts: number, note?: string, hint?: string): ApiError {
    return new ApiError({ ...this.details, attempts, note: note ?? this.details.note, hint: hint ?? this.details.hint });
  }
}

function describeApiError(details: ApiErrorDetails): { message: string; hint: string | undefined } {
  const { status, body, method, path } = details;
  const attempts = details.attempts === undefined ? '' : ` after ${countAttempts(details.attempts)}`;
  // The server's msg is quoted inside this message, so its final period would end the sentence early.
  // An ellipsis from a cut-short body stays.
  const serverMessage = (body.msg ?? '').trimEnd().replace(/(?<!\.)\.$/, '');
  const quoted = serverMessage === '' ? '' : `: ${serverMessage}`;
  let message = `${method} ${path} failed${attempts}: ${status} ${body.error}`;

  let hint: string | undefined;
  if (body.error === 'auth_error' || (isNonJsonCode(body.error) && (status === 401 || status === 403))) {
    message += `: the API key ${details.keyHint} was rejected by ${details.baseUrl}${quoted}.`;
    hint = "Pass a valid key with --api-key, set VAST_API_KEY, or set the account's apiKey in the manifest.";
    return { message: withNote(message, details.note), hint: details.hint ?? hint };
  }

  message += quoted;
  if (status === 404 && /session/i.test(body.msg ?? '')) {
    message += '. The 2FA login session expired.';
    hint = 'Log in again to start a new session.';
  } else if (body.error === 'tfa_locked') {
    message += `. ${describeLock(body)}`;
    hint = 'Wait until the lock ends, or verify with another method or a backup code.';
  } else if (body.error === '2fa_verification_failed' && typeof body.fail_count === 'number') {
    message += ` (failed attempts on this method: ${body.fail_count}).`;
    hint = 'Check the stored seed or the code provider before trying again: the method locks after 3 (SMS) or 5 (TOTP) failures.';
  } else if (status >= 300 && status < 400) {
    hint = 'Point --url or VAST_URL at the address the server redirects to.';
  } else if (status === 429) {
    hint = 'Wait a few minutes, then run again.';
  } else if (status >= 500) {
    hint = 'The service failed or is unavailable. Run again later.';
  }

  return { message: withNote(message, details.note), hint: details.hint ?? hint };
}

function withNote(message: string, note: string | undefined): string {
  if (note === undefined) return message;
  const separator = /[.!?]$/.test(message) ? ' ' : '. ';
  return `${message}${separator}${note}`;
}

function describeLock(body: ErrorBody): string {
  const lockedUntil = body.locked_until;
  if (typeof lockedUntil !== 'number') {
    return 'The method is locked.';
  }
  return `The method is locked until ${new Date(lockedUntil * 1000).toISOString()}.`;
}

function isNonJsonCode(apiCode: string): boolean {
  return /^http_\d{3}$/.test(apiCode);
}

export function countAttempts(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}

export interface ConnectionErrorDetails {
  method: string;
  path: string;
  baseUrl: string;
  /**
   * A system error code (ECONNREFUSED, ECONNRESET), or one of `timeout`, `tls` and
   * `unknown`.
   */
  reason: string;
  /** `no` when the failure happened before any byte of the request left (refused, DNS, connect timeout). */
  requestSent: 'no' | 'maybe';
  /** Whether trying again may succeed: false for a TLS certificate failure. */
  transient: boolean;
  /** The status, when the response headers arrived before its body failed. */
  status: number | null;
  /** Cause text without secrets, e.g. "connect ECONNREFUSED 127.0.0.1:8080". */
  causeText: string;
  timeoutMs?: number | undefined;
  attempts?: number | undefined;
}

/** The server could not be reached, or its response did not arrive whole. */
export class ConnectionError extends TfaError {
  readonly method: string;
  readonly path: string;
  readonly baseUrl: string;
  readonly reason: string;
  readonly requestSent: 'no' | 'maybe';
  readonly transient: boolean;
  readonly status: number | null;
  readonly attempts: number | undefined;
  readonly details: ConnectionErrorDetails;

  constructor(details: ConnectionErrorDetails, options: { cause?: unknown } = {}) {
    const attempts = details.attempts === undefined ? '' : ` (${countAttempts(details.attempts)})`;
    const failure = details.reason === 'timeout'
      ? `timed out after ${formatSeconds(details.timeoutMs ?? 0)} waiting for ${details.baseUrl}`
      : `failed to get a response from ${details.baseUrl}: ${details.causeText}`;
    const hint = details.reason === 'tls'
      ? 'Check that --url or VAST_URL names the right server and that its TLS certificate is valid.'
      : 'Check --url or VAST_URL, and that the server is running and reachable from here.';
    super('connection_failed', `${details.method} ${details.path} ${failure}${attempts}.`, { hint, cause: options.cause });
    this.method = details.method;
    this.path = details.path;
    this.baseUrl = details.baseUrl;
    this.reason = details.reason;
    this.requestSent = details.requestSent;
    this.transient = details.transient;
    this.status = details.status;
    this.attempts = details.attempts;
    this.details = details;
  }

  /** Returns a copy of this error whose message counts the attempts made. */
  withAttempts(attempts: number): ConnectionError {
    return new ConnectionError({ ...this.details, attempts }, { cause: this.cause });
  }
}

/**
 * A state-changing call was sent, and its response never arrived or came from a gateway
 * that cannot tell whether the server acted (502, 504). The caller must read the account's
 * status before it decides to send the call again.
 */
export class OutcomeUnknownError extends TfaError {
  readonly method: string;
  readonly path: string;
  /** The gateway's status (502, 504), the status whose body was lost, or null when no response arrived. */
  readonly status: number | null;
  readonly reason: string;

  constructor(details: { method: string; path: string; baseUrl: string; status: number | null; reason: string }, options: { cause?: unknown } = {}) {
    const outcome = details.status === null
      ? `was sent to ${details.baseUrl}, but no response arrived (${details.reason})`
      : `was sent to ${details.baseUrl} and got ${details.status} (${details.reason})`;
    super('outcome_unknown', `${details.method} ${details.path} ${outcome}: the server may have acted on it.`, {
      hint: "Read the account's status (tfa-gitops plan shows it) before changing anything again.",
      cause: options.cause,
    });
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.reason = details.reason;
  }
}

/** The caller's AbortSignal fired (Ctrl-C) during a request or a wait between attempts. */
export class AbortedError extends TfaError {
  readonly method: string;
  readonly path: string;
  /** True when the aborted request may already have reached the server. */
  readonly requestMayHaveBeenSent: boolean;

  constructor(details: { method: string; path: string; requestMayHaveBeenSent: boolean }, options: { cause?: unknown } = {}) {
    const consequence = details.requestMayHaveBeenSent
      ? ' The request may have reached the server, so it may have acted on it.'
      : '';
    super('aborted', `${details.method} ${details.path} was aborted.${consequence}`, {
      hint: details.requestMayHaveBeenSent ? "Read the account's status (tfa-gitops plan shows it) before changing anything again." : undefined,
      cause: options.cause,
      // 128 + SIGINT, as shells report a command stopped by Ctrl-C.
      exitCode: 130,
    });
    this.method = details.method;
    this.path = details.path;
    this.requestMayHaveBeenSent = details.requestMayHaveBeenSent;
  }
}

/** Formats a duration in ms as seconds: "0.5 s" below 10 s, whole seconds from there. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  if (Number.isInteger(seconds) || seconds >= 10) {
    return `${Math.round(seconds)} s`;
  }
  return `${seconds.toFixed(1)} s`;
}
