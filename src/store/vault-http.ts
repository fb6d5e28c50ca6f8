/**
 * HTTP requests to Vault with node:http and node:https: the token header, the namespace, a
 * CA bundle for TLS, AppRole login, and a few retries for responses that ask the client to retry.
 * node:https takes the CA bundle through its Agent, which fetch in Node 20 cannot do
 * without the undici package as a dependency.
 */

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';

import { StoreError } from './errors.js';
import { errorMessage } from './fs-errors.js';
import { isObject } from './record-shape.js';
import { describeAddress, type VaultSettings } from './vault-config.js';

export interface VaultReply {
  status: number;
  /** The parsed JSON body; undefined for an empty body or one that is not JSON. */
  body: unknown;
}

export interface VaultCall {
  method: 'GET' | 'POST' | 'DELETE';
  /** The logical path after /v1/, e.g. `secret/data/tfa/ml-prod`. */
  path: string;
  /** Query string without the question mark, e.g. `list=true`. */
  query?: string;
  body?: unknown;
  /** Description of the call for messages, e.g. `read the record of account "ml-prod"`. */
  action: string;
}

const MAX_ATTEMPTS = 3;
const RETRY_BASE_MS = 200;
const MAX_RETRY_AFTER_MS = 5_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Statuses of requests that Vault did not carry out and that may succeed later: rate limit, bad gateway, gateway timeout. */
const RETRY_STATUSES = new Set([429, 502, 504]);
const RETRY_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN']);
const TLS_ERROR_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

/** Renews an AppRole token when less than this share of its lease is left. */
const LEASE_RENEW_SHARE = 0.1;

/**
 * A connection to one Vault server. Holds a keep-alive agent, so call close() when done.
 * The token never leaves this object: messages name the credential's source, not its value.
 */
export class VaultConnection {
  readonly settings: VaultSettings;
  readonly #agent: HttpAgent | HttpsAgent;
  #token: string | undefined;
  /** Epoch milliseconds after which an AppRole token should be renewed by a new login. */
  #renewAtMs = Number.POSITIVE_INFINITY;
  /** AppRole logins so far; tests read it to check renewal. */
  logins = 0;

  constructor(settings: VaultSettings) {
    this.settings = settings;
    this.#agent =
      settings.address.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, ...(settings.ca === undefined ? {} : { ca: settings.ca }) })
        : new HttpAgent({ keepAlive: true });
    if (settings.credentials.kind === 'token') this.#token = settings.credentials.token;
  }

  /** Address of the server for messages, with the namespace when one is set. */
  get description(): string {
    const namespace = this.settings.namespace === undefined ? '' : `, namespace ${this.settings.namespace}`;
    return `Vault at ${describeAddress(this.settings.address)}${namespace}`;
  }

  /**
   * Sends one request and returns Vault's response, whatever its status. Throws StoreError when
   * no response arrives, or when an AppRole login fails. A 403 with an AppRole token triggers
   * one new login and one more attempt, because the token may have expired.
   */
  async call(call: VaultCall): Promise<VaultReply> {
    const usesAppRole = this.settings.credentials.kind === 'approle';
    if (usesAppRole && (this.#token === undefined || Date.now() >= this.#renewAtMs)) {
      await this.login();
    }

    const reply = await this.#sendWithRetries(call, this.#token);
    if (reply.status !== 403 || !usesAppRole) return reply;

    await this.login();
    return this.#sendWithRetries(call, this.#token);
  }

  /** Logs in with VAULT_ROLE_ID and VAULT_SECRET_ID and keeps the token for later calls. */
  async login(): Promise<void> {
    const credentials = this.settings.credentials;
    if (credentials.kind !== 'approle') return;

    const body = credentials.secretId === undefined ? { role_id: credentials.roleId } : { role_id: credentials.roleId, secret_id: credentials.secretId };
    const reply = await this.#sendWithRetries({ method: 'POST', path: 'auth/approle/login', body, action: 'log in with AppRole' }, undefined);
    const auth = isObject(reply.body) && isObject(reply.body['auth']) ? reply.body['auth'] : undefined;
    const token = auth?.['client_token'];
    if (reply.status !== 200 || typeof token !== 'string' || token === '') {
      throw new StoreError('vault_login_failed', `The AppRole login to ${this.description} failed: ${vaultMessage(reply)}.`, {
        hint: 'Check VAULT_ROLE_ID and VAULT_SECRET_ID, and that the AppRole auth method is enabled at auth/approle.',
      });
    }

    this.#token = token;
    this.logins += 1;
    const leaseSeconds = auth?.['lease_duration'];
    this.#renewAtMs =
      typeof leaseSeconds === 'number' && leaseSeconds > 0 ? Date.now() + leaseSeconds * 1000 * (1 - LEASE_RENEW_SHARE) : Number.POSITIVE_INFINITY;
  }

  close(): void {
    this.#agent.destroy();
  }

  async #sendWithRetries(call: VaultCall, token: string | undefined): Promise<VaultReply> {
    for (let attempt = 1; ; attempt++) {
      let reply: VaultReply & { retryAfterMs: number | undefined };
      try {
        reply = await this.#send(call, token);
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && RETRY_ERROR_CODES.has(errorCode(error) ?? '')) {
          await delay(RETRY_BASE_MS * 2 ** (attempt - 1));
          continue;
        }
        throw this.#connectionError(call, error);
      }

      if (attempt >= MAX_ATTEMPTS || !RETRY_STATUSES.has(reply.status)) {
        return { status: reply.status, body: reply.body };
      }
      await delay(Math.min(reply.retryAfterMs ?? RETRY_BASE_MS * 2 ** (attempt - 1), MAX_RETRY_AFTER_MS));
    }
  }

  #send(call: VaultCall, token: string | undefined): Promise<VaultReply & { retryAfterMs: number | undefined }> {
    const base = this.settings.address;
    const prefix = base.pathname.replace(/\/+$/, '');
    const path = `${prefix}/v1/${call.path}${call.query === undefined ? '' : `?${call.query}`}`;
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);

    const headers: Record<string, string> = { Accept: 'application/json', 'X-Vault-Request': 'true' };
    if (token !== undefined) headers['X-Vault-Token'] = token;
    if (this.settings.namespace !== undefined) headers['X-Vault-Namespace'] = this.settings.namespace;
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }

    const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(
        { protocol: base.protocol, hostname: base.hostname, port: base.port, path, method: call.method, headers, agent: this.#agent },
        (response) => {
          readBody(response).then(
            (text) => resolve({ status: response.statusCode ?? 0, body: parseJson(text), retryAfterMs: retryAfterMs(response) }),
            reject,
          );
        },
      );
      request.setTimeout(this.settings.timeoutMs, () => {
        request.destroy(Object.assign(new Error(`timed out after ${this.settings.timeoutMs / 1000} s without a response`), { code: 'ETIMEDOUT' }));
      });
      request.on('error', reject);
      request.end(payload);
    });
  }

  #connectionError(call: VaultCall, error: unknown): StoreError {
    const code = errorCode(error);
    const tls = code !== undefined && TLS_ERROR_CODES.has(code);
    const hint = tls
      ? 'Set VAULT_CACERT to the PEM file of the CA that signed the Vault server certificate.'
      : code === 'ETIMEDOUT'
        ? 'Check that Vault is reachable and not overloaded, or raise VAULT_CLIENT_TIMEOUT.'
        : 'Check VAULT_ADDR and that Vault is running and reachable from here.';
    return new StoreError('store_unreachable', `Cannot ${call.action}: no response from ${this.description}: ${errorMessage(error)}.`, { hint, cause: error });
  }
}

/** Returns Vault's error messages joined, or the status when the body has none. */
export function vaultMessage(reply: VaultReply): string {
  const errors = isObject(reply.body) && Array.isArray(reply.body['errors']) ? reply.body['errors'].filter((item) => typeof item === 'string') : [];
  return errors.length > 0 ? `${errors.join('; ')} (HTTP ${reply.status})` : `HTTP ${reply.status}`;
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        response.destroy(new Error(`the response is larger than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function retryAfterMs(response: IncomingMessage): number | undefined {
  const seconds = Number(response.headers['retry-after']);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
