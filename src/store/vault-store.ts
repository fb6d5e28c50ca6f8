/**
 * A secret store in a HashiCorp Vault KV version 2 mount. `vault://MOUNT/PATH` keeps each
 * account as the secret MOUNT/data/PATH/ACCOUNT, whose data is
 * `{"formatVersion": 1, "record": {...}}`. The store's version is Vault's version of that
 * secret, and every write sends it as the check-and-set (`cas`) option, so Vault itself
 * rejects a writer that read an older version.
 */

import { StoreConflictError, StoreError } from './errors.js';
import { isObject, recordProblem } from './record-shape.js';
import { emptyRecord, type AccountRecord, type SecretStore, type VersionedRecord } from './types.js';
import { parseVaultUrl, readVaultSettings, type VaultTarget } from './vault-config.js';
import { VaultConnection, vaultMessage, type VaultReply } from './vault-http.js';

/** The `formatVersion` this tool reads and writes inside each secret. */
export const VAULT_FORMAT_VERSION = 1;

const CAS_MISMATCH = 'check-and-set parameter did not match';

export class VaultStore implements SecretStore {
  readonly location: string;
  readonly writable = true;
  readonly #target: VaultTarget;
  readonly #connection: VaultConnection;

  constructor(target: VaultTarget, connection: VaultConnection) {
    this.#target = target;
    this.#connection = connection;
    this.location = `vault://${target.mount}/${target.path} (${connection.description})`;
  }

  /** AppRole logins so far. */
  get logins(): number {
    return this.#connection.logins;
  }

  async read(account: string): Promise<VersionedRecord> {
    const path = this.#secretPath(account);
    const action = `read the record of account "${account}" at ${path}`;
    const reply = await this.#connection.call({ method: 'GET', path, action });

    if (reply.status === 404) {
      // A 404 with metadata means the latest version is deleted or destroyed. Vault still
      // counts it, so the next write must name that version as its check-and-set value.
      const version = metadataVersion(reply);
      if (version !== undefined) return { record: emptyRecord(), version };
      if (vaultErrors(reply).length === 0) return { record: emptyRecord(), version: 0 };
    }
    if (reply.status !== 200) throw this.#failure(reply, action);

    return { record: this.#parseSecret(reply, path), version: responseVersion(reply, path) };
  }

  async write(account: string, record: AccountRecord, expectedVersion: number): Promise<number> {
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new StoreError('store_invalid_version', `Cannot write account "${account}" to ${this.location}: expected version ${expectedVersion} is not an integer of at least 0.`);
    }
    const path = this.#secretPath(account);
    const action = `write the record of account "${account}" at ${path}`;

    const reply = await this.#connection.call({
      method: 'POST',
      path,
      body: { data: { formatVersion: VAULT_FORMAT_VERSION, record }, options: { cas: expectedVersion } },
      action,
    });
    const casMismatch = reply.status === 400 ? vaultErrors(reply).find((message) => message.includes(CAS_MISMATCH)) : undefined;
    if (casMismatch !== undefined) {
      const { version } = await this.read(account);
      throw new StoreConflictError(this.location, account, expectedVersion, version, `Vault on ${path}: ${casMismatch}`);
    }
    if (reply.status !== 200 && reply.status !== 204) throw this.#failure(reply, action);

    const data = isObject(reply.body) && isObject(reply.body['data']) ? reply.body['data'] : undefined;
    const version = data?.['version'];
    if (typeof version !== 'number' || !Number.isSafeInteger(version)) {
      throw new StoreError('vault_response_invalid', `Vault stored ${path} but its response has no version, so the next write could not use check-and-set.`, {
        hint: 'Check that the mount is a KV version 2 secrets engine.',
      });
    }
    return version;
  }

  async list(): Promise<string[]> {
    const folder = this.#target.path === '' ? '' : `/${encodePath(this.#target.path)}`;
    const path = `${encodePath(this.#target.mount)}/metadata${folder}/`;
    const action = `list the accounts at ${path}`;
    const reply = await this.#connection.call({ method: 'GET', path, query: 'list=true', action });

    if (reply.status === 404 && vaultErrors(reply).length === 0) return [];
    if (reply.status !== 200) throw this.#failure(reply, action);

    const data = isObject(reply.body) && isObject(reply.body['data']) ? reply.body['data'] : undefined;
    const keys = Array.isArray(data?.['keys']) ? data['keys'] : [];
    // Keys ending in "/" are folders below PATH; an account name never has a slash.
    return keys.filter((key): key is string => typeof key === 'string' && !key.endsWith('/')).sort();
  }

  async close(): Promise<void> {
    this.#connection.close();
  }

  /**
   * Rejects a mount that is not KV version 2, which would accept writes without
   * check-and-set. Learns the version from sys/internal/ui/mounts, and skips the check
   * when the token may not read that endpoint.
   */
  async checkMount(): Promise<void> {
    const mount = this.#target.mount;
    const reply = await this.#connection.call({ method: 'GET', path: `sys/internal/ui/mounts/${encodePath(mount)}`, action: `look up the mount "${mount}"` });
    if (reply.status !== 200) return;

    const data = isObject(reply.body) && isObject(reply.body['data']) ? reply.body['data'] : undefined;
    const type = data?.['type'];
    const options = isObject(data?.['options']) ? data['options'] : undefined;
    if (type !== 'kv' && type !== 'generic') {
      throw new StoreError('vault_mount_invalid', `The Vault mount "${mount}" is a ${String(type)} secrets engine, not KV version 2.`, {
        hint: 'Point the store at a KV version 2 mount, as in vault://secret/tfa-gitops.',
      });
    }
    if (options?.['version'] !== '2') {
      throw new StoreError('vault_mount_invalid', `The Vault mount "${mount}" is KV version 1, which has no check-and-set; tfa-gitops needs KV version 2.`, {
        hint: `Run "vault kv enable-versioning ${mount}", or use a KV version 2 mount.`,
      });
    }
  }

  /** Returns MOUNT/data/PATH/ACCOUNT with each segment percent-encoded. */
  #secretPath(account: string): string {
    if (account === '' || account === '.' || account === '..' || account.includes('/')) {
      throw new StoreError('store_invalid_account', `Cannot use account name "${account}" in ${this.location}: it is empty, "." or ".." or has a slash.`);
    }
    const folder = this.#target.path === '' ? '' : `/${encodePath(this.#target.path)}`;
    return `${encodePath(this.#target.mount)}/data${folder}/${encodeURIComponent(account)}`;
  }

  #parseSecret(reply: VaultReply, path: string): AccountRecord {
    const data = isObject(reply.body) && isObject(reply.body['data']) ? reply.body['data']['data'] : undefined;
    if (!isObject(data)) throw invalidSecret(path, 'it has no data');

    const formatVersion = data['formatVersion'];
    if (typeof formatVersion === 'number' && formatVersion > VAULT_FORMAT_VERSION) {
      throw new StoreError('store_format_unsupported', `The Vault secret ${path} has format version ${formatVersion}, which is newer than this tfa-gitops supports (${VAULT_FORMAT_VERSION}).`, {
        hint: 'Upgrade tfa-gitops.',
      });
    }
    if (formatVersion !== VAULT_FORMAT_VERSION) throw invalidSecret(path, `its "formatVersion" is not ${VAULT_FORMAT_VERSION}`);

    const problem = recordProblem(data['record']);
    if (problem !== undefined) throw invalidSecret(path, problem);
    return data['record'] as AccountRecord;
  }

  #failure(reply: VaultReply, action: string): StoreError {
    const where = this.#connection.description;
    const message = `Cannot ${action} in ${where}: ${vaultMessage(reply)}.`;
    switch (reply.status) {
      case 403:
        return new StoreError('store_permission_denied', message, {
          hint: `Check the token (${this.#credentialSource()}) and that its policy allows read, create, update and list on ${this.#target.mount}/data/${this.#target.path} and ${this.#target.mount}/metadata/${this.#target.path}.`,
        });
      case 503:
        return new StoreError('store_unavailable', message, { hint: 'Unseal Vault, or point VAULT_ADDR at an active node, then retry.' });
      case 429:
        return new StoreError('store_rate_limited', message, { hint: 'Wait for the rate limit quota to refill, then retry.' });
      case 404:
        return new StoreError('store_not_found', message, { hint: 'Check the mount in the store URL (vault://MOUNT/PATH) and VAULT_NAMESPACE.' });
      default:
        return new StoreError('store_failed', message, { hint: 'Check the Vault server log for the request.' });
    }
  }

  #credentialSource(): string {
    const credentials = this.#connection.settings.credentials;
    return credentials.kind === 'token' ? `from ${credentials.source}` : 'from the AppRole login';
  }
}

/** Opens the store at `vault://MOUNT/PATH` and checks the mount and the credentials before returning it. */
export async function openVaultStore(url: string, env: NodeJS.ProcessEnv): Promise<VaultStore> {
  const target = parseVaultUrl(url);
  const connection = new VaultConnection(await readVaultSettings(env));
  const store = new VaultStore(target, connection);
  try {
    await connection.login();
    await store.checkMount();
    await store.list();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function vaultErrors(reply: VaultReply): string[] {
  return isObject(reply.body) && Array.isArray(reply.body['errors']) ? reply.body['errors'].filter((item): item is string => typeof item === 'string') : [];
}

/** Returns data.metadata.version, which both a secret and a deleted secret's 404 carry. */
function metadataVersion(reply: VaultReply): number | undefined {
  const data = isObject(reply.body) && isObject(reply.body['data']) ? reply.body['data'] : undefined;
  const version = isObject(data?.['metadata']) ? data['metadata']['version'] : undefined;
  return typeof version === 'number' && Number.isSafeInteger(version) && version > 0 ? version : undefined;
}

function responseVersion(reply: VaultReply, path: string): number {
  const version = metadataVersion(reply);
  if (version === undefined) throw invalidSecret(path, 'its metadata has no version');
  return version;
}

function invalidSecret(path: string, reason: string): StoreError {
  return new StoreError('store_invalid', `The Vault secret ${path} is not a tfa-gitops record: ${reason}.`, {
    hint: `Compare it with "vault kv get -format=json ${path.replace('/data/', '/')}", or restore an earlier version with "vault kv rollback".`,
  });
}
