/**
 * A fake HashiCorp Vault for tests: the parts of the KV version 2 HTTP API that the vault://
 * store uses, served by node:http (or node:https) on 127.0.0.1, port 0. It keeps versions,
 * checks check-and-set, returns 403 for an unknown token, 404 for an unknown secret, 503
 * while sealed, honours X-Vault-Namespace, and logs in AppRole clients.
 *
 * Status codes and error texts follow Vault's documentation: 400 "check-and-set parameter
 * did not match the current version", 403 "permission denied", 503 "Vault is sealed".
 * NOTE: node's HTTP parser does not accept the LIST method, so only `GET ?list=true` lists.
 */

import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeVaultOptions {
  /** The token with every permission. @default a random token */
  rootToken?: string;
  /** Mounts and their KV version. @default { secret: 2 } */
  mounts?: Record<string, 1 | 2>;
  /** Mounts whose secrets reject a write without check-and-set. */
  casRequired?: string[];
  /** When set, the mounts exist only in this namespace, and requests must name it. */
  namespace?: string;
  /** An AppRole that logs in to a token with every permission, valid for `leaseSeconds`. */
  appRole?: { roleId: string; secretId: string; leaseSeconds?: number };
  /** Serves HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

interface SecretVersion {
  data: Record<string, unknown> | null;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

/** One request as the server saw it, for assertions; the token is reduced to whether it was valid. */
export interface FakeVaultRequest {
  method: string;
  path: string;
  namespace: string | undefined;
  tokenValid: boolean;
  status: number;
  /** The raw header values, to check that no secret leaked into one. */
  headers: IncomingMessage['headers'];
}

export interface FakeVault {
  url: string;
  rootToken: string;
  requests: FakeVaultRequest[];
  /** Writes rejected because their check-and-set version was stale. */
  casMismatches: number;
  /** Tokens that may read and list but get 403 on writes. */
  addReadOnlyToken(token: string): void;
  revokeToken(token: string): void;
  seal(): void;
  unseal(): void;
  /** Fails the next `count` requests with `status` and `errors`, as an overloaded server or proxy would. */
  failNext(count: number, status: number, errors?: string[]): void;
  /** The latest data of MOUNT/PATH (PATH without data/), or undefined. */
  secret(mount: string, path: string): Record<string, unknown> | undefined;
  /** The current version of MOUNT/PATH, or 0. */
  version(mount: string, path: string): number;
  /** Soft-deletes the latest version, as `vault kv delete` does. */
  softDeleteLatest(mount: string, path: string): void;
  close(): Promise<void>;
}

/** Starts the fake server; stop it with close(). */
export async function startFakeVault(options: FakeVaultOptions = {}): Promise<FakeVault> {
  const state = new VaultState(options);
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    state.handle(request, response).catch((error: unknown) => {
      reply(response, 500, { errors: [String(error)] });
    });
  };
  const server: Server = options.tls === undefined ? createHttpServer(handler) : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    rootToken: state.rootToken,
    requests: state.requests,
    get casMismatches() {
      return state.casMismatches;
    },
    addReadOnlyToken: (token) => state.readOnlyTokens.add(token),
    revokeToken: (token) => {
      state.tokens.delete(token);
      state.readOnlyTokens.delete(token);
    },
    failNext: (count, status, errors = []) => void (state.failures = { count, status, errors }),
    seal: () => void (state.sealed = true),
    unseal: () => void (state.sealed = false),
    secret: (mount, path) => state.latest(mount, path),
    version: (mount, path) => state.secrets.get(`${mount}/${path}`)?.length ?? 0,
    softDeleteLatest: (mount, path) => state.softDeleteLatest(`${mount}/${path}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Runs `fn` with a fake Vault, and always closes it. */
export async function withFakeVault<T>(fn: (vault: FakeVault) => Promise<T>, options: FakeVaultOptions = {}): Promise<T> {
  const vault = await startFakeVault(options);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

class VaultState {
  readonly rootToken: string;
  readonly tokens = new Set<string>();
  readonly readOnlyTokens = new Set<string>();
  /** Versions per MOUNT/PATH, oldest first; version N is at index N - 1. */
  readonly secrets = new Map<string, SecretVersion[]>();
  readonly requests: FakeVaultRequest[] = [];
  casMismatches = 0;
  sealed = false;
  failures: { count: number; status: number; errors: string[] } | undefined;
  readonly #options: FakeVaultOptions;
  readonly #mounts: Map<string, 1 | 2>;
  readonly #tokenExpiry = new Map<string, number>();

  constructor(options: FakeVaultOptions) {
    this.#options = options;
    this.rootToken = options.rootToken ?? `hvs.${randomBytes(12).toString('hex')}`;
    this.tokens.add(this.rootToken);
    this.#mounts = new Map(Object.entries(options.mounts ?? { secret: 2 }));
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://vault.invalid');
    const body = await readJson(request);
    const namespace = headerValue(request.headers['x-vault-namespace']);
    const token = headerValue(request.headers['x-vault-token']) ?? bearer(request.headers['authorization']);
    const tokenValid = token !== undefined && this.#isValid(token);

    const send = (status: number, payload?: unknown): void => {
      this.requests.push({ method: request.method ?? '', path: url.pathname, namespace, tokenValid, status, headers: request.headers });
      reply(response, status, payload);
    };

    if (this.failures !== undefined && this.failures.count > 0) {
      this.failures.count -= 1;
      return send(this.failures.status, { errors: this.failures.errors });
    }
    if (this.sealed) return send(503, { errors: ['Vault is sealed'] });
    if (!url.pathname.startsWith('/v1/')) return send(404, { errors: [] });
    const path = decodeURIComponent(url.pathname.slice('/v1/'.length));

    if (path === 'auth/approle/login' && request.method === 'POST') return send(...this.#login(body));
    if (!tokenValid) return send(403, { errors: ['permission denied'] });

    const inNamespace = this.#options.namespace === undefined || normalizeNamespace(namespace) === normalizeNamespace(this.#options.namespace);
    if (path.startsWith('sys/internal/ui/mounts/')) {
      const version = inNamespace ? this.#mounts.get(path.slice('sys/internal/ui/mounts/'.length).replace(/\/+$/, '')) : undefined;
      if (version === undefined) return send(403, { errors: ['permission denied'] });
      return send(200, { data: { type: 'kv', path: `${path.slice('sys/internal/ui/mounts/'.length)}/`, options: { version: String(version) } } });
    }

    const mount = [...this.#mounts.keys()].find((name) => path === name || path.startsWith(`${name}/`));
    if (mount === undefined || !inNamespace) {
      return send(404, { errors: [`no handler for route "${path}". route entry not found.`] });
    }
    if (this.#mounts.get(mount) === 1) return send(404, { errors: [] });

    const rest = path.slice(mount.length + 1);
    const slash = rest.indexOf('/');
    const kind = slash === -1 ? rest : rest.slice(0, slash);
    const secretPath = slash === -1 ? '' : rest.slice(slash + 1);
    const key = `${mount}/${secretPath.replace(/\/+$/, '')}`;
    const writes = request.method === 'POST' || request.method === 'PUT' || request.method === 'DELETE';
    if (writes && token !== undefined && this.readOnlyTokens.has(token)) return send(403, { errors: ['permission denied'] });

    if (kind === 'data' && request.method === 'GET') return send(...this.#read(key, url.searchParams.get('version')));
    if (kind === 'data' && (request.method === 'POST' || request.method === 'PUT')) return send(...this.#write(mount, key, body));
    if (kind === 'data' && request.method === 'DELETE') {
      this.softDeleteLatest(key);
      return send(204);
    }
    if (kind === 'metadata' && request.method === 'GET' && url.searchParams.get('list') === 'true') return send(...this.#list(key));
    if (kind === 'metadata' && request.method === 'GET') return send(...this.#metadata(mount, key));
    if (kind === 'metadata' && request.method === 'DELETE') {
      this.secrets.delete(key);
      return send(204);
    }
    return send(405, { errors: [`unsupported operation ${request.method ?? ''} on ${path}`] });
  }

  latest(mount: string, path: string): Record<string, unknown> | undefined {
    return this.secrets.get(`${mount}/${path}`)?.at(-1)?.data ?? undefined;
  }

  softDeleteLatest(key: string): void {
    const latest = this.secrets.get(key)?.at(-1);
    if (latest !== undefined) latest.deletionTime = new Date().toISOString();
  }

  #isValid(token: string): boolean {
    if (!this.tokens.has(token) && !this.readOnlyTokens.has(token)) return false;
    const expiry = this.#tokenExpiry.get(token);
    return expiry === undefined || Date.now() < expiry;
  }

  #login(body: unknown): [number, unknown] {
    const appRole = this.#options.appRole;
    const credentials = isRecord(body) ? body : {};
    if (appRole === undefined || credentials['role_id'] !== appRole.roleId || credentials['secret_id'] !== appRole.secretId) {
      return [400, { errors: ['invalid role or secret ID'] }];
    }

    const token = `hvs.${randomBytes(12).toString('hex')}`;
    const leaseSeconds = appRole.leaseSeconds ?? 3600;
    this.tokens.add(token);
    this.#tokenExpiry.set(token, Date.now() + leaseSeconds * 1000);
    return [200, { auth: { client_token: token, accessor: randomBytes(6).toString('hex'), lease_duration: leaseSeconds, renewable: true, token_policies: ['default', 'tfa-gitops'] } }];
  }

  #read(key: string, versionParameter: string | null): [number, unknown?] {
    const versions = this.secrets.get(key);
    if (versions === undefined) return [404, { errors: [] }];

    const number = versionParameter === null ? versions.length : Number(versionParameter);
    const found = versions[number - 1];
    if (found === undefined) return [404, { errors: [] }];

    const metadata = { version: number, created_time: found.createdTime, deletion_time: found.deletionTime, destroyed: found.destroyed, custom_metadata: null };
    if (found.deletionTime !== '' || found.destroyed) return [404, { data: { data: null, metadata } }];
    return [200, { data: { data: found.data, metadata } }];
  }

  #write(mount: string, key: string, body: unknown): [number, unknown?] {
    if (!isRecord(body) || !isRecord(body['data'])) return [400, { errors: ['no data provided'] }];
    const versions = this.secrets.get(key) ?? [];
    const options = isRecord(body['options']) ? body['options'] : {};
    const cas = options['cas'];

    if (cas === undefined && (this.#options.casRequired ?? []).includes(mount)) {
      return [400, { errors: ['check-and-set parameter required for this call'] }];
    }
    if (cas !== undefined && cas !== versions.length) {
      this.casMismatches += 1;
      return [400, { errors: ['check-and-set parameter did not match the current version'] }];
    }

    const createdTime = new Date().toISOString();
    versions.push({ data: structuredClone(body['data']), createdTime, deletionTime: '', destroyed: false });
    this.secrets.set(key, versions);
    return [200, { data: { version: versions.length, created_time: createdTime, deletion_time: '', destroyed: false, custom_metadata: null } }];
  }

  #list(key: string): [number, unknown?] {
    const prefix = key.endsWith('/') ? key : `${key}/`;
    const children = new Set<string>();
    for (const name of this.secrets.keys()) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      const slash = rest.indexOf('/');
      children.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    if (children.size === 0) return [404, { errors: [] }];
    return [200, { data: { keys: [...children].sort() } }];
  }

  #metadata(mount: string, key: string): [number, unknown?] {
    const versions = this.secrets.get(key);
    if (versions === undefined) return [404, { errors: [] }];

    const entries = versions.map((version, index) => [String(index + 1), { created_time: version.createdTime, deletion_time: version.deletionTime, destroyed: version.destroyed }]);
    const casRequired = (this.#options.casRequired ?? []).includes(mount);
    return [200, { data: { current_version: versions.length, max_versions: 0, cas_required: casRequired, custom_metadata: null, versions: Object.fromEntries(entries) } }];
  }
}

function reply(response: ServerResponse, status: number, payload?: unknown): void {
  if (payload === undefined) {
    response.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(payload);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function bearer(value: string | string[] | undefined): string | undefined {
  const header = headerValue(value);
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

function normalizeNamespace(namespace: string | undefined): string {
  return (namespace ?? '').replace(/^\/+|\/+$/g, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
