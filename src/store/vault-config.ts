/**
 * Settings of a vault:// store: the mount and path from the store URL, and the address, namespace, credentials and CA certificates from the environment variables
 * that the `vault` command reads.
 */

import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { StoreError } from './errors.js';
import { errorMessage } from './fs-errors.js';

/** The address the `vault` command uses when VAULT_ADDR is unset. */
export const DEFAULT_VAULT_ADDR = 'https://127.0.0.1:8200';

/** The `vault` command's default request timeout, in seconds. */
const DEFAULT_TIMEOUT_SECONDS = 60;

/** A KV version 2 mount and the folder inside it that contains one secret per account. */
export interface VaultTarget {
  /** The mount path without slashes at either end, e.g. `secret` or `team/kv`. */
  mount: string;
  /** The folder inside the mount without slashes at either end; may be empty. */
  path: string;
}

export type VaultCredentials =
  | { kind: 'token'; token: string; source: string }
  | { kind: 'approle'; roleId: string; secretId: string | undefined };

export interface VaultSettings {
  address: URL;
  /** Sent as X-Vault-Namespace, e.g. `team-a/`. */
  namespace: string | undefined;
  credentials: VaultCredentials;
  /** PEM certificates to trust instead of the system's, from VAULT_CACERT or VAULT_CAPATH. */
  ca: string | undefined;
  timeoutMs: number;
}

/**
 * Parses `vault://MOUNT/PATH`. The first segment is the mount; a mount whose own path has a
 * slash is written with `%2F`, as in `vault://team%2Fkv/tfa`.
 */
export function parseVaultUrl(url: string): VaultTarget {
  const rest = url.replace(/^vault:\/\//i, '');
  const segments = rest.split('/').filter((segment) => segment !== '');
  const [first, ...pathSegments] = segments;
  if (first === undefined || rest.includes('?') || rest.includes('#')) {
    throw new StoreError('store_url_invalid', `Invalid Vault store URL "${url}": write it as vault://MOUNT/PATH, as in vault://secret/tfa-gitops.`, {
      hint: 'MOUNT is a KV version 2 secrets engine; each account is kept at MOUNT/data/PATH/ACCOUNT.',
    });
  }

  let mount: string;
  let path: string;
  try {
    mount = decodeURIComponent(first).replace(/^\/+|\/+$/g, '');
    path = pathSegments.map((segment) => decodeURIComponent(segment)).join('/');
  } catch {
    throw new StoreError('store_url_invalid', `Invalid Vault store URL "${url}": it has a malformed percent escape.`, {
      hint: 'Write a slash inside the mount as %2F and leave other characters as they are.',
    });
  }

  if (mount === '' || [mount, path].some((part) => part.split('/').some((segment) => segment === '.' || segment === '..'))) {
    throw new StoreError('store_url_invalid', `Invalid Vault store URL "${url}": the mount is empty or a segment is "." or "..".`, {
      hint: 'Write the store as vault://MOUNT/PATH, as in vault://secret/tfa-gitops.',
    });
  }
  return { mount, path };
}

/** Reads VAULT_ADDR, VAULT_NAMESPACE, the credentials, the CA certificates and VAULT_CLIENT_TIMEOUT. */
export async function readVaultSettings(env: NodeJS.ProcessEnv): Promise<VaultSettings> {
  const address = parseAddress(nonEmpty(env['VAULT_ADDR']) ?? DEFAULT_VAULT_ADDR);
  const namespace = nonEmpty(env['VAULT_NAMESPACE']);
  const credentials = await readCredentials(env);
  const ca = await readCaCertificates(env);
  const timeoutMs = parseTimeout(nonEmpty(env['VAULT_CLIENT_TIMEOUT'])) * 1000;
  return { address, namespace, credentials, ca, timeoutMs };
}

/** Returns the address for messages: scheme, host and port, without any user or password. */
export function describeAddress(address: URL): string {
  return `${address.protocol}//${address.host}`;
}

function parseAddress(value: string): URL {
  let address: URL;
  try {
    address = new URL(value);
  } catch {
    throw new StoreError('vault_addr_invalid', `Invalid VAULT_ADDR "${value}": it is not a URL.`, {
      hint: 'Set VAULT_ADDR to the Vault server, as in https://vault.example.com:8200.',
    });
  }

  if (address.protocol !== 'https:' && address.protocol !== 'http:') {
    throw new StoreError('vault_addr_invalid', `Invalid VAULT_ADDR: the scheme ${address.protocol} is neither https: nor http:.`, {
      hint: 'Set VAULT_ADDR to the Vault server, as in https://vault.example.com:8200.',
    });
  }
  return address;
}

/**
 * Picks the credentials in this order: VAULT_TOKEN, an AppRole login with VAULT_ROLE_ID
 * (and VAULT_SECRET_ID when the role needs one), then the `vault login` token file
 * ~/.vault-token.
 */
async function readCredentials(env: NodeJS.ProcessEnv): Promise<VaultCredentials> {
  const token = nonEmpty(env['VAULT_TOKEN']);
  if (token !== undefined) return { kind: 'token', token, source: 'VAULT_TOKEN' };

  const roleId = nonEmpty(env['VAULT_ROLE_ID']);
  const secretId = nonEmpty(env['VAULT_SECRET_ID']);
  if (roleId !== undefined) return { kind: 'approle', roleId, secretId };
  if (secretId !== undefined) {
    throw new StoreError('vault_credentials_missing', 'VAULT_SECRET_ID is set, but VAULT_ROLE_ID is not: an AppRole login needs both.', {
      hint: "Set VAULT_ROLE_ID to the AppRole's role ID.",
    });
  }

  const tokenFile = join(env['HOME'] ?? homedir(), '.vault-token');
  const fromFile = await readFile(tokenFile, 'utf8').then(
    (text) => nonEmpty(text.trim()),
    () => undefined,
  );
  if (fromFile !== undefined) return { kind: 'token', token: fromFile, source: tokenFile };

  throw new StoreError('vault_credentials_missing', 'No Vault credentials: VAULT_TOKEN, VAULT_ROLE_ID and ~/.vault-token are all missing.', {
    hint: 'Set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for an AppRole login, or run "vault login".',
  });
}

/** Reads VAULT_CACERT (one PEM file), or else every file in the folder VAULT_CAPATH. */
async function readCaCertificates(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const caFile = nonEmpty(env['VAULT_CACERT']);
  if (caFile !== undefined) {
    return readCaFile(caFile, 'VAULT_CACERT');
  }

  const caFolder = nonEmpty(env['VAULT_CAPATH']);
  if (caFolder === undefined) return undefined;

  let names: string[];
  try {
    names = (await readdir(caFolder, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name).sort();
  } catch (error) {
    throw new StoreError('vault_ca_unreadable', `Cannot read the VAULT_CAPATH folder ${caFolder}: ${errorMessage(error)}.`, {
      hint: 'Point VAULT_CAPATH at a folder of PEM certificates, or unset it.',
    });
  }
  const pems = await Promise.all(names.map((name) => readCaFile(join(caFolder, name), 'VAULT_CAPATH')));
  return pems.join('\n');
}

async function readCaFile(path: string, variable: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new StoreError('vault_ca_unreadable', `Cannot read the ${variable} certificate ${path}: ${errorMessage(error)}.`, {
      hint: `Point ${variable} at a PEM file you may read, or unset it.`,
    });
  }

  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new StoreError('vault_ca_invalid', `The ${variable} file ${path} contains no PEM certificate.`, {
      hint: 'Use the PEM file of the CA that signed the Vault server certificate.',
    });
  }
  return text;
}

/** Parses VAULT_CLIENT_TIMEOUT as the `vault` command accepts it for whole units: `60`, `60s`, `2m`. */
function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS;

  const match = /^(\d+)(s|m)?$/.exec(value);
  const amount = Number(match?.[1]);
  if (match === null || amount === 0) {
    throw new StoreError('vault_timeout_invalid', `Invalid VAULT_CLIENT_TIMEOUT "${value}": write a whole number of seconds or minutes, as in 60, 60s or 2m.`, {
      hint: `Unset it to use the default of ${DEFAULT_TIMEOUT_SECONDS} s.`,
    });
  }
  return match[2] === 'm' ? amount * 60 : amount;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
