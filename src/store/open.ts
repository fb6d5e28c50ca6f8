import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

import { StoreError } from './errors.js';
import { FileStore } from './file-store.js';
import { resolveFileStoreKey } from './file-store-key.js';
import type { SecretStore } from './types.js';

export interface OpenStoreOptions {
  /** Environment that supplies TFA_GITOPS_IDENTITY and TFA_GITOPS_PASSPHRASE. */
  env: NodeJS.ProcessEnv;
  /** Receives one-line notices, e.g. "created identity file PATH (mode 0600); keep it out of git". */
  onNotice?: (message: string) => void;
}

const SUPPORTED_SCHEMES = 'file://';

/**
 * Opens the secret store at `url`: `file:///abs/path/secrets.age` or a bare absolute path.
 * The store's key is resolved, and an existing store decrypted, before this resolves, so a
 * wrong key fails here rather than halfway through an apply.
 */
export async function openStore(url: string, options: OpenStoreOptions): Promise<SecretStore> {
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
      hint: 'Use a file:// URL or a path.',
    });
  }
  throw new StoreError('store_url_invalid', `Invalid store path "${url}": openStore needs an absolute path.`, {
    hint: 'Resolve the path against the manifest folder before opening the store.',
  });
}
