import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

import { openEnvStore } from './env-store.js';
import { StoreError } from './errors.js';
import { openExecStore } from './exec-store.js';
import { FileStore } from './file-store.js';
import { resolveFileStoreKey } from './file-store-key.js';
import type { SecretStore } from './types.js';
import { openVaultStore } from './vault-store.js';

export interface OpenStoreOptions {
  /**
   * Environment that supplies TFA_GITOPS_IDENTITY and TFA_GITOPS_PASSPHRASE (file://), the
   * VAULT_* variables (vault://), the helper's environment (exec://) and the records (env://).
   */
  env: NodeJS.ProcessEnv;
  /** Receives one-line notices, e.g. "created identity file PATH (mode 0600); keep it out of git". */
  onNotice?: (message: string) => void;
  /** The folder an exec:// helper runs in, normally the manifest's. @default process.cwd() */
  baseDir?: string;
}

const SUPPORTED_SCHEMES = 'file://, vault://, exec://, env://';

/**
 * Opens the secret store at `url`: `file:///abs/path/secrets.age` or a bare absolute path,
 * `vault://MOUNT/PATH`, `exec://COMMAND` or `env://PREFIX`. Each store checks that it can be
 * read before this resolves (the file store decrypts, Vault checks the token and the mount,
 * a helper runs `list`), so a wrong key or token fails here rather than halfway through an apply.
 */
export async function openStore(url: string, options: OpenStoreOptions): Promise<SecretStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'vault') return openVaultStore(url, options.env);
  if (scheme === 'exec') return openExecStore(url, { env: options.env, cwd: options.baseDir ?? process.cwd() });
  if (scheme === 'env') return openEnvStore(url, options.env);

  const path = fileStorePath(url);
  const key = await resolveFileStoreKey(path, options.env, options.onNotice);
  const store = new FileStore(path, key);
  await store.list();
  return store;
}

/** Returns the absolute path of a `file:` URL or a bare absolute path, or throws StoreError for anything else. */
function fileStorePath(url: string): string {
  if (url.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch {
      throw new StoreError('store_url_invalid', `Invalid store URL "${url}": a file URL needs an absolute path, as in file:///srv/tfa/secrets.age.`, {
        hint: 'Write the store as file:///ABSOLUTE/PATH, or as a path relative to the manifest.',
      });
    }
    return path;
  }

  if (isAbsolute(url)) {
    return url;
  }

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  if (scheme !== undefined) {
    throw new StoreError('store_url_unsupported', `Unsupported store URL "${url}": tfa-gitops cannot open ${scheme}: stores. Supported: ${SUPPORTED_SCHEMES}.`, {
      hint: 'Use a file:// URL or a path, vault://MOUNT/PATH, exec://COMMAND or env://PREFIX.',
    });
  }
  throw new StoreError('store_url_invalid', `Invalid store path "${url}": openStore needs an absolute path.`, {
    hint: 'Resolve the path against the manifest folder before opening the store.',
  });
}
