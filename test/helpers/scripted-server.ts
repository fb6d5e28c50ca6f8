/**
 * A node:http server on 127.0.0.1 that sends a programmed sequence of replies, one per
 * request, and records every request it received. Used to drive the API client's retry
 * policy and error handling through failures the emulator does not produce.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON with Content-Type application/json. */
  json?: unknown;
  /** Sent as is; use for HTML or broken JSON. */
  text?: string;
  /**
   * `after-request`: read the whole request, then destroy the socket without a response.
   * `hang`: read the request and never respond.
   */
  fault?: 'after-request' | 'hang';
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request's body had arrived. */
  receivedAtMs: number;
}

export interface ScriptedServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A reply, or a function that builds one from the request (e.g. to compute a Date header). */
export type ScriptStep = ScriptedReply | ((request: RecordedRequest) => ScriptedReply);

/**
 * Starts the server. Request N gets step N; once the script is used up, every further
 * request gets 500 `script_exhausted`, so a test that sends too many requests fails clearly.
 */
export async function startScriptedServer(script: ScriptStep[], options: { port?: number } = {}): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded: RecordedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAtMs: performance.now(),
      };
      const step = script[requests.length];
      requests.push(recorded);
      const reply = typeof step === 'function' ? step(recorded) : step ?? { status: 500, json: { error: 'script_exhausted', msg: 'the test sent more requests than it scripted' } };
      sendReply(reply, response, request.socket);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) {
          socket.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

function sendReply(reply: ScriptedReply, response: ServerResponse, socket: Socket): void {
  if (reply.fault === 'after-request') {
    socket.destroy();
    return;
  }
  if (reply.fault === 'hang') {
    return;
  }

  const headers: Record<string, string> = { ...reply.headers };
  let body = reply.text ?? '';
  if (reply.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(reply.json);
  }
  response.writeHead(reply.status ?? 200, headers);
  response.end(body);
}

/** Returns a port on 127.0.0.1 that nothing listens on, for connection-refused cases. */
export async function findClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
