/**
 * The retry policy of the API client, in one place: which failures are retried, how long
 * to wait before the next attempt, and when to give up.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';

import { AbortedError, ApiError, ConnectionError, OutcomeUnknownError, formatSeconds } from './errors.js';

export const DEFAULT_RETRIES = 4;
export const DEFAULT_MAX_RETRY_TIME_MS = 60_000;
/** Maximum wait honoured from a `Retry-After` header. A longer request is shortened to this. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
/** The first backoff delay is between this and twice this, and each later one doubles. */
export const MIN_BACKOFF_MS = 250;
export const MAX_BACKOFF_MS = 8_000;

/**
 * Calls that change nothing on the server, so sending them twice is harmless. totp-setup
 * returns a fresh seed each time but stores nothing until confirm-new.
 */
const SAFE_CALLS = new Set(['GET /api/v0/tfa/status/', 'POST /api/v0/tfa/totp-setup/']);

/** Returns true when the call changes nothing on the server and may be sent again freely. */
export function isSafeCall(method: string, path: string): boolean {
  return SAFE_CALLS.has(`${method} ${path}`);
}

export interface RetryPolicy {
  /** Extra attempts after the first, for a retryable failure. */
  retries: number;
  /** Bound on the time from the first attempt to the start of the last one, in ms. */
  maxRetryTimeMs: number;
  /** Maximum `Retry-After` wait honoured, in ms. */
  maxRetryAfterMs: number;
}

export interface RetryEvent {
  method: string;
  path: string;
  /** The number of the attempt about to be made: 2 for the first retry. */
  attempt: number;
  delayMs: number;
  /** The status ("503") or the connection error code ("ECONNRESET") that caused the retry. */
  reason: string;
}

export interface RetryContext {
  method: string;
  path: string;
  baseUrl: string;
  policy: RetryPolicy;
  signal?: AbortSignal | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

export type RetryDecision =
  | { retry: true; reason: string; retryAfterMs: number | undefined }
  | { retry: false; error: unknown };

/**
 * Decides whether a failed attempt may be sent again. A state-changing call is retried
 * only when the server certainly did not act: a 429 or 503 response, or a connection that
 * failed before the request left. Where the server may have acted, the decision carries an
 * OutcomeUnknownError instead.
 */
export function decideRetry(error: unknown, safe: boolean, baseUrl: string): RetryDecision {
  if (error instanceof ApiError) {
    return decideForStatus(error, safe, baseUrl);
  }
  if (error instanceof ConnectionError) {
    return decideForConnection(error, safe, baseUrl);
  }
  return { retry: false, error };
}

function decideForStatus(error: ApiError, safe: boolean, baseUrl: string): RetryDecision {
  // A locked method and an SMS quota (a few sends per number per hour) also get 429, but
  // waiting a few seconds lifts neither.
  if (error.status === 429 && (error.apiCode === 'tfa_locked' || error.apiCode === 'sms_rate_limited' || error.apiCode === 'twilio_rate_limited')) {
    return { retry: false, error };
  }
  if (error.status === 429 || error.status === 503) {
    return { retry: true, reason: String(error.status), retryAfterMs: error.retryAfterMs };
  }
  if (error.status !== 502 && error.status !== 504) {
    return { retry: false, error };
  }

  // A gateway error does not tell whether the server behind it acted.
  if (safe) {
    return { retry: true, reason: String(error.status), retryAfterMs: error.retryAfterMs };
  }
  const outcome = new OutcomeUnknownError(
    { method: error.method, path: error.path, baseUrl, status: error.status, reason: `gateway error ${error.apiCode}` },
    { cause: error },
  );
  return { retry: false, error: outcome };
}

function decideForConnection(error: ConnectionError, safe: boolean, baseUrl: string): RetryDecision {
  if (!error.transient) {
    return { retry: false, error };
  }
  if (safe || error.requestSent === 'no') {
    return { retry: true, reason: error.reason, retryAfterMs: undefined };
  }
  const outcome = new OutcomeUnknownError(
    { method: error.method, path: error.path, baseUrl, status: error.status, reason: error.reason },
    { cause: error },
  );
  return { retry: false, error: outcome };
}

/**
 * Parses a `Retry-After` value, either delay-seconds or an HTTP date, into ms from now.
 * An HTTP date is measured against the response's own `Date` header when there is one, so
 * that a skewed local clock does not stretch or cut the wait. Returns undefined for an
 * absent or invalid value, and 0 for a date in the past.
 */
export function parseRetryAfter(value: string | null, serverDateMs?: number, nowMs: number = Date.now()): number | undefined {
  if (value === null) {
    return undefined;
  }

  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return Math.round(Number(trimmed) * 1000);
  }

  // Every HTTP date form names the weekday, and Date.parse alone would accept "-5" as a year.
  const retryAtMs = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(retryAtMs)) {
    return undefined;
  }
  return Math.max(0, retryAtMs - (serverDateMs ?? nowMs));
}

/** Returns the delay before attempt `failedAttempts + 1`: exponential, with up to 100% jitter. */
export function backoffDelayMs(failedAttempts: number, random: () => number = Math.random): number {
  const base = MIN_BACKOFF_MS * 2 ** Math.max(0, failedAttempts - 1);
  return Math.round(Math.min(MAX_BACKOFF_MS, base * (1 + random())));
}

/**
 * Runs `attempt` until it succeeds, a failure is not retryable, or the policy's budget is
 * spent. Rejects with the last error. Once the call was retried or ran out of budget, that
 * error's message counts the attempts. Aborting `signal` rejects at once with an AbortedError.
 */
export async function runWithRetry<T>(attempt: (attemptNumber: number) => Promise<T>, context: RetryContext): Promise<T> {
  const { method, path, policy, signal } = context;
  const safe = isSafeCall(method, path);
  const started = performance.now();

  // Most calls succeed at once, so the first attempt runs before p-retry, whose setup took
  // about 15 microseconds per call. A failure of it is handed to p-retry as its own first
  // attempt's failure, so every decision below is made exactly as before.
  let firstFailure: unknown;
  try {
    return await attempt(1);
  } catch (error) {
    firstFailure = error;
  }

  const replayFirst = (attemptNumber: number): Promise<T> => (attemptNumber === 1 ? Promise.reject(firstFailure) : attempt(attemptNumber));
  return pRetry(replayFirst, {
    retries: policy.retries,
    // onFailedAttempt below makes every decision, waits itself, and throws to stop. Not
    // consuming a retry makes p-retry skip its own backoff, so it only loops.
    shouldConsumeRetry: () => false,
    onFailedAttempt: async ({ error, attemptNumber }) => {
      const decision = decideRetry(error, safe, context.baseUrl);
      if (!decision.retry) {
        throw addAttempts(decision.error, attemptNumber, attemptNumber > 1);
      }
      if (attemptNumber > policy.retries) {
        throw addAttempts(error, attemptNumber, true);
      }

      const remainingMs = policy.maxRetryTimeMs - (performance.now() - started);
      const delayMs = chooseDelay(error, decision.retryAfterMs, attemptNumber, remainingMs, policy);

      notify(context.onRetry, { method, path, attempt: attemptNumber + 1, delayMs, reason: decision.reason });
      await waitOrAbort(delayMs, signal, method, path);
    },
  });
}

/** Returns the wait before the next attempt, or throws when the time budget cannot cover it. */
function chooseDelay(error: unknown, retryAfterMs: number | undefined, failedAttempts: number, remainingMs: number, policy: RetryPolicy): number {
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > remainingMs) {
      const retryAt = new Date(Date.now() + retryAfterMs).toISOString();
      const note = `The server asked to retry in ${formatSeconds(retryAfterMs)}, more than the ${formatSeconds(Math.max(0, Math.round(remainingMs)))} left of the retry time budget.`;
      throw addAttempts(error, failedAttempts, true, note, `Run again after ${retryAt}.`);
    }
    return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  }

  const delayMs = backoffDelayMs(failedAttempts);
  if (delayMs > remainingMs) {
    throw addAttempts(error, failedAttempts, true);
  }
  return delayMs;
}

function addAttempts(error: unknown, attempts: number, count: boolean, note?: string, hint?: string): unknown {
  if (!count) {
    return error;
  }
  if (error instanceof ApiError) {
    return error.withAttempts(attempts, note, hint);
  }
  if (error instanceof ConnectionError) {
    return error.withAttempts(attempts);
  }
  return error;
}

async function waitOrAbort(delayMs: number, signal: AbortSignal | undefined, method: string, path: string): Promise<void> {
  try {
    await sleep(delayMs, undefined, { signal });
  } catch (error) {
    // A state-changing call is retried only where the server did not act, so an aborted
    // wait leaves nothing behind on the server.
    throw new AbortedError({ method, path, requestMayHaveBeenSent: false }, { cause: error });
  }
}

function notify(onRetry: ((event: RetryEvent) => void) | undefined, event: RetryEvent): void {
  try {
    onRetry?.(event);
  } catch {
    // A failing log callback must not change the outcome of the call.
  }
}
