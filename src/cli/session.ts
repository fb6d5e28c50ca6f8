/**
 * The steps every command that talks to accounts shares: load the manifest, open the store,
 * make a client per account, read each account's status and store record, and plan.
 */

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { VastClient } from '../api/client.js';
import { resolveApiKey } from '../api/key.js';
import { redact } from '../api/redact.js';
import { TfaError } from '../errors.js';
import { loadManifest } from '../manifest/load.js';
import type { DesiredAccount, Manifest } from '../manifest/types.js';
import { planAccount } from '../plan/planner.js';
import type { AccountPlan } from '../plan/types.js';
import { openStore } from '../store/open.js';
import type { SecretStore } from '../store/types.js';
import { type CliIo, logLine } from './io.js';
import { DEFAULT_MANIFEST, DEFAULT_URL, type GlobalOptions } from './options.js';

export interface Target {
  desired: DesiredAccount;
  client: VastClient;
}

export interface Session {
  manifest: Manifest;
  store: SecretStore;
  targets: Target[];
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

async function accountKey(desired: DesiredAccount, options: GlobalOptions, io: CliIo): Promise<string> {
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
    // NOTE: API keys kept in the secret store are not supported yet; the manifest accepts the form.
    throw new TfaError('api_key_unsupported', `account "${desired.name}": apiKey { store: ${source.store} } is not supported yet`, {
      hint: 'use apiKey { env: NAME } or { file: PATH }',
    });
  }

  const found = resolveApiKey({ ...(options.apiKey ? { flag: options.apiKey } : {}), env: io.env, homeDir: io.env.HOME ?? homedir() });
  if (!found) {
    throw new TfaError('api_key_missing', `account "${desired.name}" has no API key`, {
      hint: 'set apiKey in the manifest, pass --api-key, or export VAST_API_KEY',
    });
  }
  return found.key;
}

export function manifestPaths(files: string[] | undefined, io: CliIo): string[] {
  const given = files && files.length > 0 ? files : [DEFAULT_MANIFEST];
  return given.map((file) => resolve(io.cwd, file));
}

export async function openSession(files: string[] | undefined, options: GlobalOptions, io: CliIo): Promise<Session> {
  const manifest = await loadManifest(manifestPaths(files, io));
  const store = await openStore(manifest.store, {
    env: io.env,
    onNotice: (message) => logLine(io, 'store', { message }),
  });

  const baseUrl = serverUrl(options, io);
  const targets: Target[] = [];
  for (const desired of manifest.accounts) {
    const apiKey = await accountKey(desired, options, io);
    const client = new VastClient({
      baseUrl,
      apiKey,
      retries: options.retry,
      ...(io.signal ? { signal: io.signal } : {}),
      onRetry: (event) =>
        logLine(io, 'retry', { account: desired.name, method: event.method, path: event.path, attempt: event.attempt, delay_ms: event.delayMs, reason: event.reason }),
      ...(options.explain
        ? {
            onExchange: (exchange) =>
              logLine(io, 'explain', {
                account: desired.name,
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
    targets.push({ desired, client });
  }
  return { manifest, store, targets };
}

export interface Observation {
  target: Target;
  plan?: AccountPlan;
  error?: Error;
}

/** Reads one account's status and record and plans it; an error stays with its account. */
export async function observe(target: Target, store: SecretStore, rotate?: ReadonlySet<string>): Promise<Observation> {
  try {
    const [observed, stored] = await Promise.all([target.client.getStatus(), store.read(target.desired.name)]);
    const plan = planAccount({
      desired: target.desired,
      observed,
      stored: stored.record,
      nowSeconds: Date.now() / 1000,
      ...(rotate ? { rotate } : {}),
    });
    return { target, plan };
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
