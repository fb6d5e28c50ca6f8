import { performance } from 'node:perf_hooks';

/** One HTTP request. The body, when present, is sent as JSON. */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  /** Timeout of the whole attempt, from sending to the last byte of the response. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when the body is empty or not JSON. */
  json: unknown;
  durationMs: number;
  /** The response's `Date` header as epoch ms (whole seconds), when present and valid. */
  serverDateMs: number | undefined;
  /** Local epoch ms at which the response headers arrived. */
  receivedAtMs: number;
}

/** Cause of a missing response: the caller's signal, the attempt's timeout, or the network. */
export type TransportFailureKind = 'aborted' | 'timeout' | 'network';

/**
 * A request that produced no usable response. Internal to the client, which turns it into a
 * ConnectionError, an OutcomeUnknownError or an AbortedError.
 */
export class TransportFailure extends Error {
  readonly kind: TransportFailureKind;
  /** A system or undici error code (ECONNREFUSED, UND_ERR_SOCKET), or `timeout`, `aborted`, `bad_port`, `tls`, `unknown`. */
  readonly reason: string;
  readonly requestSent: 'no' | 'maybe';
  /** Whether trying again may succeed. */
  readonly transient: boolean;
  /** The status, when headers arrived before the body failed. */
  readonly status: number | null;
  readonly durationMs: number;

  constructor(
    details: { kind: TransportFailureKind; reason: string; requestSent: 'no' | 'maybe'; transient: boolean; status: number | null; durationMs: number; message: string },
    cause: unknown,
  ) {
    super(details.message, { cause });
    this.name = 'TransportFailure';
    this.kind = details.kind;
    this.reason = details.reason;
    this.requestSent = details.requestSent;
    this.transient = details.transient;
    this.status = details.status;
    this.durationMs = details.durationMs;
  }
}

/**
 * Error codes raised before any byte of the request left this process, so the server
 * cannot have acted on it.
 */
const BEFORE_SEND_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Sends one request and reads the whole response, whatever its status. Throws a
 * TransportFailure when no complete response arrives.
 */
export async function sendRequest(request: HttpRequest): Promise<HttpResponse> {
  const started = performance.now();
  const timeoutSignal = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal === undefined ? timeoutSignal : AbortSignal.any([request.signal, timeoutSignal]);
  let status: number | null = null;

  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal,
      // A followed redirect would turn a POST into a GET, so the caller reports 3xx instead.
      redirect: 'manual',
    });
    status = response.status;
    const receivedAtMs = Date.now();
    const text = await response.text();

    return {
      status,
      headers: response.headers,
      text,
      json: parseJson(text),
      durationMs: performance.now() - started,
      serverDateMs: parseHttpDate(response.headers.get('date')),
      receivedAtMs,
    };
  } catch (error) {
    const durationMs = performance.now() - started;
    if (request.signal?.aborted === true) {
      throw new TransportFailure(
        { kind: 'aborted', reason: 'aborted', requestSent: 'maybe', transient: false, status, durationMs, message: 'aborted by the caller' },
        error,
      );
    }
    if (timeoutSignal.aborted) {
      // NOTE: a timeout shorter than undici's default connect timeout (10 s) may fire before
      // the connection exists. It still counts as "maybe sent", which is the safe reading.
      throw new TransportFailure(
        { kind: 'timeout', reason: 'timeout', requestSent: 'maybe', transient: true, status, durationMs, message: `timed out after ${request.timeoutMs} ms` },
        error,
      );
    }
    throw classifyNetworkError(error, status, durationMs);
  }
}

function classifyNetworkError(error: unknown, status: number | null, durationMs: number): TransportFailure {
  const root = rootCause(error);
  const code = findErrorCode(error);
  const message = root instanceof Error ? root.message : String(root);
  const base = { kind: 'network' as const, status, durationMs, message };

  if (message === 'bad port') {
    // fetch rejects the Fetch standard's "bad ports" (for example 1, 25, 6000) before connecting.
    return new TransportFailure({ ...base, reason: 'bad_port', requestSent: 'no', transient: false }, error);
  }
  if (code !== undefined && isTlsCode(code)) {
    return new TransportFailure({ ...base, reason: 'tls', requestSent: 'no', transient: false }, error);
  }
  if (code !== undefined && BEFORE_SEND_CODES.has(code) && status === null) {
    return new TransportFailure({ ...base, reason: code, requestSent: 'no', transient: true }, error);
  }
  return new TransportFailure({ ...base, reason: code ?? 'unknown', requestSent: 'maybe', transient: true }, error);
}

function isTlsCode(code: string): boolean {
  return /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code);
}

/** Returns the deepest `cause` of an error chain. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const next = current instanceof Error ? current.cause : undefined;
    if (next === undefined) {
      return current;
    }
    current = next;
  }
  return current;
}

/**
 * Finds the first string `code` along the cause chain. fetch wraps the socket's error in a
 * TypeError("fetch failed"), and a connection raced over several addresses fails with an
 * AggregateError whose `errors` carry the codes.
 */
function findErrorCode(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      return code;
    }
    if (current instanceof AggregateError) {
      const inner = current.errors.map(findErrorCode).find((value) => value !== undefined);
      if (inner !== undefined) {
        return inner;
      }
    }
    current = current.cause;
  }
  return undefined;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Parses an HTTP date (RFC 9110, e.g. "Sun, 06 Nov 1994 08:49:37 GMT") to epoch ms. */
export function parseHttpDate(value: string | null): number | undefined {
  if (value === null) {
    return undefined;
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
