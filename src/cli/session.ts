/**
 * The steps every command that talks to accounts shares: load the manifest, open the store,
 * make a client per account, read each account's status and store record, and plan.
 */

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { VastClient } from '../api/client.js';
import { resolveApiKey } from '../api/key.js';
import { redact } from '../api/redact.js';
import { TfaError } from '../errors.js';
import { loadManifest } from '../manifest/load.js';
import type { DesiredAccount, Manifest } from '../manifest/types.js';
import { planAccount } from '../plan/planner.js';
import type { AccountPlan } from '../plan/types.js';
import { openStore } from '../store/open.js';
import { emptyRecord, type SecretStore, type VersionedRecord } from '../store/types.js';
import type { TfaStatus } from '../api/types.js';
import { type CliIo, logLine } from './io.js';
import { DEFAULT_URL, type GlobalOptions, manifestPaths } from './options.js';
import { type Selection, selectAccounts } from './selection.js';

// manifestPaths lives in options.ts, so that validate can use it without loading this module.
export { manifestPaths } from './options.js';

export interface Target {
  desired: DesiredAccount;
  client: VastClient;
}

/** An account the run could not start on, with the reason shown to the user. */
export interface FailedAccount {
  account: string;
  error: string;
}

export interface Session {
  manifest: Manifest;
  store: SecretStore;
  /** The selected accounts that have a client, in manifest order. */
  targets: Target[];
  /** Selected accounts whose API key could not be found (only when `fleet` was passed). */
  unavailable: FailedAccount[];
  /** Where the clients' retry and --explain lines go; a progress display swaps in its own io. */
  log: { io: CliIo };
}

/** Options of a run over many accounts: the accounts it picks. */
export interface FleetOptions {
  selection?: Selection;
  /** Only these accounts, e.g. those of a saved plan; applied before `selection`. */
  only?: readonly string[];
}

/** Returns an error's message and hint as one line, for lists of failed accounts. */
export function errorText(error: Error): string {
  if (!(error instanceof TfaError) || !error.hint) return error.message;

  // A hint that starts with a capital letter is a sentence of its own. A lowercase hint
  // follows a semicolon, so the message loses its final period to avoid ".;".
  if (/^[A-Z]/.test(error.hint)) {
    const message = /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
    return `${message} ${error.hint}`;
  }
  return `${error.message.replace(/\.$/, '')}; ${error.hint}`;
}

export function serverUrl(options: GlobalOptions, io: CliIo): string {
  const url = options.url ?? io.env.VAST_URL ?? DEFAULT_URL;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new TfaError('invalid_url', `invalid server URL "${url}"`, { hint: 'pass an http:// or https:// URL with --url or VAST_URL' });
  }
  return url.replace(/\/+$/, '');
}

async function accountKey(desired: DesiredAccount, options: GlobalOptions, io: CliIo, store: SecretStore): Promise<string> {
  const source = desired.apiKey;
  if (source && 'env' in source) {
    const value = io.env[source.env]?.trim();
    if (!value) {
      throw new TfaError('api_key_missing', `account "${desired.name}": environment variable ${source.env} is not set`, {
        hint: `export ${source.env} with the account's API key`,
      });
    }
    return value;
  }
  if (source && 'file' in source) {
    const path = isAbsolute(source.file) ? source.file : resolve(desired.baseDir, source.file);
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch {
      throw new TfaError('api_key_missing', `account "${desired.name}": cannot read the API key file ${path}`, {
        hint: 'create the file, or change apiKey in the manifest',
      });
    }
  }
  if (source && 'store' in source) {
    const { record } = await store.read(source.store);
    if (!record.apiKey) {
      throw new TfaError('api_key_missing', `account "${desired.name}": the store ${store.location} holds no API key in record "${source.store}"`, {
        hint: `put it there with: tfa-gitops store set-api-key ${source.store} < KEY_FILE`,
      });
    }
    return record.apiKey;
  }

  const found = resolveApiKey({ ...(options.apiKey ? { flag: options.apiKey } : {}), env: io.env, homeDir: io.env.HOME ?? homedir() });
  if (!found) {
    throw new TfaError('api_key_missing', `account "${desired.name}" has no API key`, {
      hint: 'set apiKey in the manifest, pass --api-key, or export VAST_API_KEY',
    });
  }
  return found.key;
}

/**
 * Loads the manifest, opens the store and makes a client per account. Without `fleet`, a
 * missing API key throws; with it, the account goes to `unavailable` and the others go on.
 */
export async function openSession(files: string[] | undefined, options: GlobalOptions, io: CliIo, fleet?: FleetOptions): Promise<Session> {
  const manifest = await loadManifest(manifestPaths(files, io), { cwd: io.cwd });
  const baseUrl = serverUrl(options, io);
  const accounts = chooseAccounts(manifest, fleet);
  const store = await openStore(manifest.store, {
    env: io.env,
    onNotice: (message) => logLine(io, 'store', { message }),
    // An exec:// helper runs in the manifest's folder, like code provider commands.
    baseDir: manifest.files[0] === undefined ? io.cwd : dirname(resolve(io.cwd, manifest.files[0])),
  });

  const log = { io };
  const targets: Target[] = [];
  const unavailable: FailedAccount[] = [];
  try {
    for (const desired of accounts) {
      let apiKey: string;
      try {
        apiKey = await accountKey(desired, options, io, store);
      } catch (error) {
        if (!fleet || !(error instanceof TfaError)) throw error;
        unavailable.push({ account: desired.name, error: errorText(error) });
        continue;
      }
      targets.push({ desired, client: makeClient(desired.name, apiKey, baseUrl, options, log) });
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  return { manifest, store, targets, unavailable, log };
}

/**
 * Makes one account's client. Every client uses the global fetch, so all accounts share one
 * keep-alive connection pool per server.
 */
function makeClient(account: string, apiKey: string, baseUrl: string, options: GlobalOptions, log: { io: CliIo }): VastClient {
  const io = log.io;
  return new VastClient({
    baseUrl,
    apiKey,
    retries: options.retry,
    ...(io.signal ? { signal: io.signal } : {}),
    onRetry: (event) =>
      logLine(log.io, 'retry', { account, method: event.method, path: event.path, attempt: event.attempt, delay_ms: event.delayMs, reason: event.reason }),
    ...(options.explain
      ? {
          onExchange: (exchange) =>
            logLine(log.io, 'explain', {
              account,
              request: `${exchange.method} ${exchange.path}`,
              attempt: exchange.attempt,
              status: exchange.status ?? exchange.error ?? 'none',
              ms: Math.round(exchange.durationMs),
              body: exchange.requestBody === undefined ? undefined : JSON.stringify(redact(exchange.requestBody)),
              answer: exchange.responseBody === undefined ? undefined : JSON.stringify(redact(exchange.responseBody)),
            }),
        }
      : {}),
  });
}

function chooseAccounts(manifest: Manifest, fleet: FleetOptions | undefined): DesiredAccount[] {
  if (!fleet) return manifest.accounts;

  const only = fleet.only ? new Set(fleet.only) : undefined;
  const candidates = only ? manifest.accounts.filter((a) => only.has(a.name)) : manifest.accounts;
  const names = new Set(selectAccounts(candidates.map((a) => a.name), fleet.selection ?? { patterns: [] }));
  return candidates.filter((a) => names.has(a.name));
}

export interface Observation {
  target: Target;
  plan?: AccountPlan;
  /** The status the plan was made from. */
  observed?: TfaStatus;
  /**
   * The version of the store record the plan was made from. The record itself is not kept,
   * because the plan already holds what it needed: keeping it added 20 MB to the peak memory
   * of a 10,000-account plan.
   */
  stored?: Pick<VersionedRecord, 'version'>;
  /** The server's time when the status was read, from its Date header; local time without one. */
  serverNowSeconds?: number;
  error?: Error;
}

/**
 * Reads one account's status and record and plans it; an error stays with its account.
 * `records`, from SecretStore.readAll, spares the store one read per account.
 */
export async function observe(
  target: Target,
  store: SecretStore,
  rotate?: ReadonlySet<string>,
  records?: ReadonlyMap<string, VersionedRecord>,
): Promise<Observation> {
  const name = target.desired.name;
  const preRead = records === undefined ? undefined : (records.get(name) ?? { record: emptyRecord(), version: 0 });
  try {
    const [observed, stored] = await Promise.all([target.client.getStatus(), preRead ?? store.read(name)]);
    const localNowMs = Date.now();
    const plan = planAccount({
      desired: target.desired,
      observed,
      stored: stored.record,
      nowSeconds: localNowMs / 1000,
      ...(rotate ? { rotate } : {}),
    });
    const serverNowSeconds = (localNowMs + (target.client.clockOffsetMs ?? 0)) / 1000;
    return { target, plan, observed, stored: { version: stored.version }, serverNowSeconds };
  } catch (error) {
    return { target, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** Runs `work` over items with at most `limit` at once, keeping the input order in the result. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}
