import { TfaError } from '../errors.js';
import { AbortedError, ApiError, ConnectionError, OutcomeUnknownError } from './errors.js';
import { TransportFailure, sendRequest } from './http.js';
import type { HttpResponse } from './http.js';
import { keyHint } from './key.js';
import { collectSecrets, redact } from './redact.js';
import { anyObject, errorBodyFrom, excerptBody, isPlainObject, statusShape, stringArrayField, stringFields } from './responses.js';
import type { AnswerCheck } from './responses.js';
import {
  DEFAULT_MAX_RETRY_AFTER_MS,
  DEFAULT_MAX_RETRY_TIME_MS,
  DEFAULT_RETRIES,
  isSafeCall,
  parseRetryAfter,
  runWithRetry,
} from './retry.js';
import type { RetryEvent, RetryPolicy } from './retry.js';
import type {
  AuthorizeAnswer,
  AuthorizeRequest,
  ChallengeAnswer,
  ConfirmNewAnswer,
  ConfirmNewRequest,
  DeleteAnswer,
  DeleteRequest,
  RegenerateAnswer,
  TfaStatus,
  TotpSetupAnswer,
  UpdateAnswer,
  UpdateRequest,
  Verification,
} from './types.js';
import { readToolVersion } from './version.js';

export type { RetryEvent } from './retry.js';

export interface ClientOptions {
  /** 'https://console.vast.ai' or 'http://127.0.0.1:PORT'. Request paths append '/api/v0/...'. */
  baseUrl: string;
  apiKey: string;
  /** Extra attempts for a retryable failure (the CLI's --retry N). @default 4 */
  retries?: number;
  /** Bound on the total time spent retrying one call, in ms. @default 60_000 */
  maxRetryTimeMs?: number;
  /** Maximum `Retry-After` wait honoured, in ms. A longer one is shortened to this. @default 60_000 */
  maxRetryAfterMs?: number;
  /** Timeout of each attempt, from sending to the end of the response, in ms. @default 30_000 */
  requestTimeoutMs?: number;
  /** Stops a request in flight or a wait between attempts at once (Ctrl-C). */
  signal?: AbortSignal;
  /** Receives every attempt for the --explain trace, already redacted. Must not throw. */
  onExchange?: (exchange: Exchange) => void;
  /** Receives every retry, for a log line such as "retry: path=... attempt=2 delay_ms=... reason=503". */
  onRetry?: (event: RetryEvent) => void;
}

/** One attempt of one call, redacted, for the --explain trace. Headers are never included. */
export interface Exchange {
  method: string;
  path: string;
  attempt: number;
  /** Null when no response arrived. */
  status: number | null;
  durationMs: number;
  requestBody?: unknown;
  responseBody?: unknown;
  /** The error this attempt ended with, as its message. */
  error?: string;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const API_PREFIX = '/api/v0/';

/** Characters allowed in an API key: printable ASCII without spaces, as an HTTP header needs. */
const API_KEY_PATTERN = /^[\x21-\x7e]+$/;

/** A typed client for the Vast.ai 2FA API: one method per endpoint, with retries. */
export class VastClient {
  /** The server's origin and any path prefix, without a trailing slash. */
  readonly baseUrl: string;
  /** The API key's last 4 characters, "...a3f9", the only form in which it is ever shown. */
  readonly keyHint: string;
  readonly #apiKey: string;
  readonly #options: ClientOptions;
  readonly #policy: RetryPolicy;
  readonly #requestTimeoutMs: number;
  readonly #userAgent: string;
  #clockOffsetMs: number | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    this.#apiKey = validateApiKey(options.apiKey);
    this.keyHint = keyHint(this.#apiKey);
    this.#options = options;
    this.#policy = {
      retries: validateCount('retry count', options.retries ?? DEFAULT_RETRIES),
      maxRetryTimeMs: validateDuration('maximum retry time', options.maxRetryTimeMs ?? DEFAULT_MAX_RETRY_TIME_MS, 0),
      maxRetryAfterMs: validateDuration('maximum Retry-After wait', options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS, 0),
    };
    this.#requestTimeoutMs = validateDuration('request timeout', options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 1);
    this.#userAgent = `tfa-gitops/${readToolVersion()}`;
  }

  /**
   * The server's clock minus the local clock, in ms, from the `Date` header of the latest
   * response. Undefined until a response with a `Date` header arrived.
   * NOTE: the header has whole seconds, so the value is accurate to about one second.
   */
  get clockOffsetMs(): number | undefined {
    return this.#clockOffsetMs;
  }

  getStatus(): Promise<TfaStatus> {
    return this.#call('GET', 'tfa/status/', undefined, statusShape);
  }

  authorizeNewMethod(request: AuthorizeRequest): Promise<AuthorizeAnswer> {
    return this.#call('POST', 'tfa/authorize-new-method/', request, anyObject);
  }

  completeAuthorization(request: { secret: string; code: string }): Promise<{ success: true; msg: string }> {
    return this.#call('PUT', 'tfa/authorize-new-method/', request, anyObject);
  }

  totpSetup(): Promise<TotpSetupAnswer> {
    return this.#call('POST', 'tfa/totp-setup/', {}, stringFields('secret', 'provisioning_uri'));
  }

  sendSms(request: { phone_number: string } | { tfa_method_id?: number }): Promise<ChallengeAnswer> {
    return this.#call('POST', 'tfa/sms/', request, stringFields('secret'));
  }

  resendSms(request: { secret: string }): Promise<{ msg: string }> {
    return this.#call('POST', 'tfa/sms/resend/', request, anyObject);
  }

  sendEmail(): Promise<ChallengeAnswer> {
    return this.#call('POST', 'tfa/email/', {}, stringFields('secret'));
  }

  confirmNew(request: ConfirmNewRequest): Promise<ConfirmNewAnswer> {
    return this.#call('POST', 'tfa/confirm-new/', request, stringArrayField('backup_codes', { optional: true }));
  }

  updateMethod(request: UpdateRequest): Promise<UpdateAnswer> {
    return this.#call('PUT', 'tfa/update/', request, anyObject);
  }

  deleteMethod(request: DeleteRequest): Promise<DeleteAnswer> {
    return this.#call('DELETE', 'tfa/', request, anyObject);
  }

  regenerateBackupCodes(request: Verification): Promise<RegenerateAnswer> {
    return this.#call('PUT', 'tfa/regen-backup-codes/', request, stringArrayField('backup_codes'));
  }

  login(request: Verification): Promise<Record<string, unknown>> {
    return this.#call('POST', 'tfa/', request, anyObject);
  }

  async #call<T>(method: string, relativePath: string, body: unknown, check: AnswerCheck): Promise<T> {
    const path = `${API_PREFIX}${relativePath}`;
    // Server messages that quote the request or the key must not carry them into errors.
    const knownSecrets = [this.#apiKey, ...collectSecrets(body)];
    const { signal, onRetry } = this.#options;

    const answer = await runWithRetry(
      (attempt) => this.#attempt({ method, path, body, attempt, knownSecrets, check }),
      { method, path, baseUrl: this.baseUrl, policy: this.#policy, signal, onRetry },
    );
    return answer as T;
  }

  /** Sends one attempt and returns the response body, or throws the attempt's error. */
  async #attempt(call: AttemptInput): Promise<Record<string, unknown>> {
    const { method, path, body, attempt } = call;
    const signal = this.#options.signal;
    if (signal?.aborted === true) {
      throw new AbortedError({ method, path, requestMayHaveBeenSent: false }, { cause: signal.reason });
    }

    let response: HttpResponse;
    try {
      response = await sendRequest({
        method,
        url: `${this.baseUrl}${path}`,
        headers: this.#headers(body !== undefined),
        body,
        timeoutMs: this.#requestTimeoutMs,
        signal,
      });
    } catch (error) {
      if (!(error instanceof TransportFailure)) {
        throw error;
      }
      const failure = this.#transportError(error, method, path);
      this.#emit(() => ({ method, path, attempt, status: error.status, durationMs: error.durationMs, requestBody: this.#redactRequest(body), error: failure.message }));
      throw failure;
    }

    this.#recordClock(response);
    const outcome = this.#interpret(response, call);
    this.#emit(() => ({
      method,
      path,
      attempt,
      status: response.status,
      durationMs: response.durationMs,
      requestBody: this.#redactRequest(body),
      responseBody: this.#redactResponse(response, call.knownSecrets),
      ...(outcome instanceof Error ? { error: outcome.message } : {}),
    }));

    if (outcome instanceof Error) {
      throw outcome;
    }
    return outcome;
  }

  /** Returns the body of a 2xx response of the expected shape, or else the error to throw. */
  #interpret(response: HttpResponse, call: AttemptInput): Record<string, unknown> | Error {
    const { method, path, knownSecrets } = call;
    const success = response.status >= 200 && response.status < 300;
    if (!success) {
      return this.#apiError(response, call);
    }

    const json = response.json;
    const problem = isPlainObject(json) ? call.check(json) : 'the response body is not a JSON object';
    if (problem === undefined && isPlainObject(json)) {
      return json;
    }

    // A 2xx response means the server acted, so when its body cannot be read, what it did is unknown.
    const reason = `unreadable response: ${problem ?? 'invalid'}`;
    if (!isSafeCall(method, path)) {
      return new OutcomeUnknownError({ method, path, baseUrl: this.baseUrl, status: response.status, reason });
    }
    const excerpt = isPlainObject(json) ? problem ?? '' : `${problem ?? ''}: ${excerptBody(response.text, knownSecrets)}`;
    return new ApiError({
      status: response.status,
      body: { error: 'invalid_response', msg: excerpt },
      method,
      path,
      baseUrl: this.baseUrl,
      keyHint: this.keyHint,
      hint: 'Check that --url or VAST_URL points at the Vast.ai API.',
    });
  }

  #apiError(response: HttpResponse, call: AttemptInput): ApiError {
    return new ApiError({
      status: response.status,
      body: errorBodyFrom(response, call.knownSecrets),
      method: call.method,
      path: call.path,
      baseUrl: this.baseUrl,
      keyHint: this.keyHint,
      retryAfterMs: parseRetryAfterHeader(response),
    });
  }

  #transportError(failure: TransportFailure, method: string, path: string): TfaError {
    if (failure.kind === 'aborted') {
      // A safe call changes nothing, so only a state-changing one may have left a trace.
      const requestMayHaveBeenSent = !isSafeCall(method, path);
      return new AbortedError({ method, path, requestMayHaveBeenSent }, { cause: failure });
    }
    return new ConnectionError(
      {
        method,
        path,
        baseUrl: this.baseUrl,
        reason: failure.reason,
        requestSent: failure.requestSent,
        transient: failure.transient,
        status: failure.status,
        causeText: failure.message,
        timeoutMs: this.#requestTimeoutMs,
      },
      { cause: failure },
    );
  }

  #headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.#apiKey}`,
      Accept: 'application/json',
      'User-Agent': this.#userAgent,
    };
    if (hasBody) {
      headers['Content-Type'] = 'application/json';
    }
    return headers;
  }

  #recordClock(response: HttpResponse): void {
    if (response.serverDateMs !== undefined) {
      this.#clockOffsetMs = response.serverDateMs - response.receivedAtMs;
    }
  }

  #redactRequest(body: unknown): unknown {
    return body === undefined ? undefined : redact(body, [this.#apiKey]);
  }

  #redactResponse(response: HttpResponse, knownSecrets: readonly string[]): unknown {
    if (response.json !== undefined) {
      return redact(response.json, knownSecrets);
    }
    return response.text === '' ? undefined : excerptBody(response.text, knownSecrets);
  }

  /**
   * Passes an attempt to the --explain trace. The exchange is built only when there is a
   * trace, because redacting every response body cost more than parsing it.
   */
  #emit(exchange: () => Exchange): void {
    const onExchange = this.#options.onExchange;
    if (onExchange === undefined) {
      return;
    }
    try {
      onExchange(exchange());
    } catch {
      // Ignored because a failing trace must not cost the caller a response, such as a set
      // of new backup codes.
    }
  }
}

interface AttemptInput {
  method: string;
  path: string;
  body: unknown;
  attempt: number;
  knownSecrets: readonly string[];
  check: AnswerCheck;
}

function parseRetryAfterHeader(response: HttpResponse): number | undefined {
  return parseRetryAfter(response.headers.get('retry-after'), response.serverDateMs, response.receivedAtMs);
}

function normalizeBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TfaError('invalid_url', `The server URL "${baseUrl}" is not a valid URL.`, {
      hint: 'Pass an http:// or https:// URL with --url or VAST_URL, such as https://console.vast.ai.',
    });
  }

  if (url.username !== '' || url.password !== '') {
    // The URL is not repeated here, because its user and password may be a credential.
    throw new TfaError('invalid_url', 'The server URL must not contain a user name or password.', {
      hint: 'Remove the user:password@ part, and pass the API key with --api-key or VAST_API_KEY.',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TfaError('invalid_url', `The server URL "${baseUrl}" must start with http:// or https://.`, {
      hint: 'Pass a URL such as https://console.vast.ai with --url or VAST_URL.',
    });
  }
  if (url.search !== '' || url.hash !== '') {
    throw new TfaError('invalid_url', `The server URL "${baseUrl}" must not have a query or a fragment.`, {
      hint: 'Pass only the scheme, host, port and any path prefix, such as https://console.vast.ai.',
    });
  }

  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function validateApiKey(apiKey: string): string {
  if (apiKey === '') {
    throw new TfaError('api_key_invalid', 'The API key is empty.', {
      hint: "Pass a key with --api-key, set VAST_API_KEY, or set the account's apiKey in the manifest.",
    });
  }
  if (!API_KEY_PATTERN.test(apiKey)) {
    throw new TfaError('api_key_invalid', `The API key ${keyHint(apiKey.trim())} contains spaces, line breaks or other characters an HTTP header cannot carry.`, {
      hint: 'Check the key for stray whitespace, for example a line break copied with it.',
    });
  }
  return apiKey;
}

function validateCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new TfaError('invalid_option', `The ${name} must be a whole number of 0 or more, not ${value}.`);
  }
  return value;
}

function validateDuration(name: string, valueMs: number, minimumMs: number): number {
  if (!Number.isFinite(valueMs) || valueMs < minimumMs) {
    throw new TfaError('invalid_option', `The ${name} must be a number of milliseconds of at least ${minimumMs}, not ${valueMs}.`);
  }
  return valueMs;
}
