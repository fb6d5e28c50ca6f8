/**
 * HTTP mechanics of the emulator: routing by exact path, JSON bodies, error responses, the
 * `Date` header from the emulator clock, and a middleware chain in front of every handler.
 * Accounts and methods are unknown here, because the route table brings them.
 */

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import type { RequestBody } from './body.js';
import type { EmulatorClock } from './clock.js';
import { ApiError, badRequest } from './errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface EmulatorRequest {
  method: HttpMethod;
  /** The path without the query string, e.g. `/api/v0/tfa/status/`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body text; `parseJsonBody` turns it into an object. */
  bodyText: string;
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * A route's handler. It is synchronous on purpose: a request's read-check-write of the
 * state then runs without another request in between, so two concurrent verifications
 * cannot both spend one code.
 */
export type Handler = (request: EmulatorRequest) => Reply;

export interface Route {
  method: HttpMethod;
  /** Exact path, trailing slash included. */
  path: string;
  handler: Handler;
}

/**
 * Runs in front of every handler, unknown paths and 405s excluded. Call `next()` to reach
 * the handler, or respond without it (fault injection, latency, dropped connections).
 */
export type Middleware = (request: EmulatorRequest, route: Route, next: () => Promise<Reply>) => Promise<Reply>;

/**
 * Thrown by a middleware to close the connection without sending a response, as a network
 * fault would. Thrown after `next()`, the handler's change is already committed.
 */
export class DropConnection extends Error {
  constructor(readonly reason: string) {
    super(`connection dropped: ${reason}`);
    this.name = 'DropConnection';
  }
}

export interface EmulatorServerOptions {
  routes: readonly Route[];
  clock: EmulatorClock;
  middlewares?: readonly Middleware[];
  /**
   * Called synchronously right after every handler with its request, before the response is
   * sent, so that a change is saved before the client sees its result. A throw turns the
   * response into a 500.
   */
  afterHandler?: (request: EmulatorRequest) => void;
  /** Receives one `event: key=value` line per request and per caught error. */
  onLog?: (line: string) => void;
}

/** Maximum request body size in bytes; a larger body gets `bad_request`. */
const MAX_BODY_BYTES = 64 * 1024;

const HTTP_METHODS: readonly string[] = ['GET', 'POST', 'PUT', 'DELETE'];

export function createEmulatorServer(options: EmulatorServerOptions): Server {
  const log = options.onLog ?? (() => undefined);

  return createServer((req, res) => {
    handleRequest(req, options)
      .catch((error: unknown) => {
        if (error instanceof DropConnection) return error;
        log(`request_failed: method=${req.method ?? '-'} path=${pathOf(req)} error=${describeError(error)}`);
        return errorReply(new ApiError('internal_error', 'The emulator failed to handle this request.'));
      })
      .then((reply) => {
        if (reply instanceof DropConnection) {
          log(`request_dropped: method=${req.method ?? '-'} path=${pathOf(req)} reason=${reply.reason}`);
          res.destroy();
          return;
        }
        log(`request: method=${req.method ?? '-'} path=${pathOf(req)} status=${reply.status}${errorCodeOf(reply)}`);
        sendReply(res, reply, options.clock);
      })
      .catch((error: unknown) => {
        log(`reply_failed: method=${req.method ?? '-'} path=${pathOf(req)} error=${describeError(error)}`);
        res.destroy();
      });
  });
}

async function handleRequest(req: IncomingMessage, options: EmulatorServerOptions): Promise<Reply> {
  const path = pathOf(req);
  const candidates = options.routes.filter((route) => route.path === path);
  if (candidates.length === 0) return errorReply(new ApiError('not_found', `No endpoint at ${path}.`));

  const route = candidates.find((candidate) => candidate.method === req.method);
  if (route === undefined || !HTTP_METHODS.includes(req.method ?? '')) {
    const allowed = candidates.map((candidate) => candidate.method).join(', ');
    return errorReply(
      new ApiError('method_not_allowed', `${path} does not accept ${req.method ?? 'this method'}; use ${allowed}.`, {
        headers: { Allow: allowed },
      }),
    );
  }

  const bodyText = await readBody(req);
  if (bodyText === undefined) return errorReply(badRequest(`request body must be at most ${MAX_BODY_BYTES} bytes`));

  const request: EmulatorRequest = { method: route.method, path, headers: req.headers, bodyText };
  const runHandler = async (): Promise<Reply> => {
    try {
      const reply = route.handler(request);
      options.afterHandler?.(request);
      return reply;
    } catch (error) {
      if (error instanceof ApiError) {
        options.afterHandler?.(request);
        return errorReply(error);
      }
      throw error;
    }
  };

  return runMiddlewares(options.middlewares ?? [], request, route, runHandler);
}

function runMiddlewares(
  middlewares: readonly Middleware[],
  request: EmulatorRequest,
  route: Route,
  last: () => Promise<Reply>,
): Promise<Reply> {
  const step = (index: number): Promise<Reply> => {
    const middleware = middlewares[index];
    if (middleware === undefined) return last();
    return middleware(request, route, () => step(index + 1));
  };
  return step(0);
}

/** Reads the body as UTF-8 text; undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;

  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    // Keep draining an oversized body so the connection stays usable for the response.
    if (size > MAX_BODY_BYTES) tooLarge = true;
    if (!tooLarge) chunks.push(buffer);
  }

  return tooLarge ? undefined : Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses a request body that must be a JSON object; an empty body reads as `{}`.
 * Throws `bad_request` for anything else.
 */
export function parseJsonBody(bodyText: string): RequestBody {
  if (bodyText.trim() === '') return {};

  let value: unknown;
  try {
    value = JSON.parse(bodyText);
  } catch {
    throw badRequest('request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('request body must be a JSON object');
  }
  return value as RequestBody;
}

/** Extracts the key from an `Authorization: Bearer KEY` header; undefined when there is none. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (header === undefined) return undefined;

  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function jsonReply(body: unknown, status = 200): Reply {
  return { status, body };
}

export function errorReply(error: ApiError): Reply {
  return {
    status: error.status,
    body: { error: error.code, msg: error.message, ...error.extra },
    headers: { ...error.headers },
  };
}

function sendReply(res: ServerResponse, reply: Reply, clock: EmulatorClock): void {
  const text = JSON.stringify(reply.body);

  // Setting Date ourselves stops node:http from adding the real time.
  res.setHeader('Date', new Date(clock.nowMs()).toUTCString());
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.setHeader('Cache-Control', 'no-store');
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);

  res.statusCode = reply.status;
  res.end(text);
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  } catch {
    return '/';
  }
}

function errorCodeOf(reply: Reply): string {
  const body = reply.body as { error?: unknown } | null;
  return typeof body?.error === 'string' ? ` error=${body.error}` : '';
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
