import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

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

/** Response headers, looked up by name in any case. */
export interface ResponseHeaders {
  /** Returns the header's value, several values joined by ", ", or null when it is absent. */
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  headers: ResponseHeaders;
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
  /** A system error code (ECONNREFUSED, ECONNRESET), or `timeout`, `aborted`, `tls`, `unknown`. */
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
const BEFORE_SEND_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * Idle time after which a pooled connection is closed, in ms. A request sent on a connection
 * that the server is closing at that moment fails with ECONNRESET, which for a POST leaves
 * the outcome unknown, so the client closes idle connections first. Node's http server closes
 * them after 5 s. With this option set, node's Agent also honours a shorter
 * `Keep-Alive: timeout=N` hint from the server, less one second.
 */
const IDLE_CONNECTION_TIMEOUT_MS = 4_000;

/**
 * One keep-alive connection pool per protocol for every client of the process, so the
 * accounts of a run share connections to their server.
 */
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
  https: new HttpsAgent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
};

/** How far a request got: the status, once one arrived, and whether its timeout fired. */
interface Progress {
  status: number | null;
  timedOut: boolean;
}

/**
 * Sends one request and reads the whole response, whatever its status. Throws a
 * TransportFailure when no complete response arrives. Uses node:http with a keep-alive pool
 * rather than fetch: 1,000 status reads at 8 at a time took 0.3-0.4 s with node:http and
 * 0.7-0.8 s with fetch (Node 20.20, 2 cores), and those reads are most of a large plan.
 */
export async function sendRequest(request: HttpRequest): Promise<HttpResponse> {
  const started = performance.now();
  const progress: Progress = { status: null, timedOut: false };

  try {
    request.signal?.throwIfAborted();
    const { response, receivedAtMs, body } = await exchange(request, progress);
    const text = decodeBody(body, response.headers['content-encoding']);
    const headers = headersOf(response.headers);

    return {
      status: progress.status ?? 0,
      headers,
      text,
      json: parseJson(text),
      durationMs: performance.now() - started,
      serverDateMs: parseHttpDate(headers.get('date')),
      receivedAtMs,
    };
  } catch (error) {
    const durationMs = performance.now() - started;
    const { status } = progress;
    if (request.signal?.aborted === true) {
      throw new TransportFailure(
        { kind: 'aborted', reason: 'aborted', requestSent: 'maybe', transient: false, status, durationMs, message: 'aborted by the caller' },
        error,
      );
    }
    if (progress.timedOut) {
      // NOTE: the timeout also covers connecting, so it may fire before the connection
      // exists. It still counts as "maybe sent", which is the safe reading.
      throw new TransportFailure(
        { kind: 'timeout', reason: 'timeout', requestSent: 'maybe', transient: true, status, durationMs, message: `timed out after ${request.timeoutMs} ms` },
        error,
      );
    }
    throw classifyNetworkError(error, status, durationMs);
  }
}

/**
 * Sends the request and resolves with the response and its raw body. Rejects on a network
 * error, on the timeout (setting `progress.timedOut`) and on the caller's signal.
 */
function exchange(request: HttpRequest, progress: Progress): Promise<{ response: IncomingMessage; receivedAtMs: number; body: Buffer }> {
  const url = new URL(request.url);
  const isHttps = url.protocol === 'https:';
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  const headers: Record<string, string> = { ...request.headers };
  if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));

  return new Promise((resolve, reject) => {
    let outgoing: ClientRequest | undefined;
    let settled = false;
    // Several events may report one failure (a timeout, then the destroyed socket's error),
    // and only the first one counts.
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      cleanUp();
      outgoing?.destroy();
      reject(error);
    };
    const timer = setTimeout(() => {
      progress.timedOut = true;
      fail(new Error(`timed out after ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    const onAbort = () => fail(request.signal?.reason);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanUp = () => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
    };

    // Redirects are never followed: a followed redirect would turn a POST into a GET, so the
    // caller reports a 3xx instead.
    const send = isHttps ? httpsRequest : httpRequest;
    // Plain options spare node:http converting the URL object again for every request.
    const target = {
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      agent: isHttps ? agents.https : agents.http,
    };
    outgoing = send(target, (response) => {
      progress.status = response.statusCode ?? 0;
      const receivedAtMs = Date.now();
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        if (settled) return;
        settled = true;
        cleanUp();
        resolve({ response, receivedAtMs, body: Buffer.concat(chunks) });
      });
      // A connection closed in the middle of the body ends the response without 'end'.
      response.on('close', () => {
        if (!response.complete) fail(Object.assign(new Error('the connection closed before the response was complete'), { code: 'ECONNRESET' }));
      });
    });
    outgoing.on('error', fail);
    outgoing.end(payload);
  });
}

/** Decodes a body as UTF-8, after undoing any content encoding, which the request never asks for. */
function decodeBody(body: Buffer, encoding: string | undefined): string {
  let decoded = body;
  const name = encoding?.trim().toLowerCase();
  if (name === 'gzip' || name === 'x-gzip') decoded = gunzipSync(body);
  else if (name === 'deflate') decoded = inflateSync(body);
  else if (name === 'br') decoded = brotliDecompressSync(body);

  // A byte order mark is dropped, as fetch's text() does, so that the JSON still parses.
  const text = decoded.toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function headersOf(headers: IncomingHttpHeaders): ResponseHeaders {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

function classifyNetworkError(error: unknown, status: number | null, durationMs: number): TransportFailure {
  const root = rootCause(error);
  const code = findErrorCode(error);
  const message = root instanceof Error ? root.message : String(root);
  const base = { kind: 'network' as const, status, durationMs, message };

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
 * Finds the first string `code` along the cause chain. A connection raced over several
 * addresses (IPv4 and IPv6 for localhost) fails with an AggregateError whose `errors` carry
 * the codes.
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
