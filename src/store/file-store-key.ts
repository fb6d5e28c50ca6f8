import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { IdentityKey, PASSPHRASE_VARIABLE, PassphraseKey, type AgeKey } from './age-key.js';
import { StoreError } from './errors.js';
import { errorMessage, isErrorCode } from './fs-errors.js';
import { createIdentityFile, readIdentityFile } from './identity.js';

/** The variable that names the identity file, overriding `identity.txt` next to the store. */
export const IDENTITY_VARIABLE = 'TFA_GITOPS_IDENTITY';

/** Name of the identity file looked for, and created, in the store's folder. */
export const DEFAULT_IDENTITY_FILE = 'identity.txt';

/**
 * Chooses the key of a file store, in this order: the passphrase in TFA_GITOPS_PASSPHRASE,
 * the identity file in TFA_GITOPS_IDENTITY, `identity.txt` next to the store. When none
 * exists and neither does the store, a new identity file is created next to the store and
 * `onNotice` reports it. A new key is never created for an existing store, because it could
 * not decrypt it.
 */
export async function resolveFileStoreKey(
  storePath: string,
  env: NodeJS.ProcessEnv,
  onNotice?: (message: string) => void,
): Promise<AgeKey> {
  const passphrase = env[PASSPHRASE_VARIABLE];
  if (passphrase !== undefined) {
    if (passphrase === '') {
      throw new StoreError('store_passphrase_empty', `${PASSPHRASE_VARIABLE} is set but empty, so it cannot encrypt the store ${storePath}.`, {
        hint: `Set ${PASSPHRASE_VARIABLE} to the store's passphrase, or unset it to use an identity file.`,
      });
    }
    return new PassphraseKey(passphrase);
  }

  const configured = env[IDENTITY_VARIABLE];
  if (configured !== undefined && configured !== '') {
    const path = resolve(configured);
    if (!(await exists(path))) {
      throw new StoreError('store_identity_missing', `The identity file ${path} named by ${IDENTITY_VARIABLE} does not exist.`, {
        hint: `Set ${IDENTITY_VARIABLE} to the path of the store's identity file.`,
      });
    }
    return new IdentityKey(await readIdentityFile(path));
  }

  const defaultPath = join(dirname(storePath), DEFAULT_IDENTITY_FILE);
  if (await exists(defaultPath)) {
    return new IdentityKey(await readIdentityFile(defaultPath));
  }

  if (await exists(storePath)) {
    throw new StoreError('store_identity_missing', `The store ${storePath} exists, but its identity file ${defaultPath} does not, and ${IDENTITY_VARIABLE} is not set.`, {
      hint: `Set ${IDENTITY_VARIABLE} to the identity file the store was encrypted for, or ${PASSPHRASE_VARIABLE} if it uses a passphrase.`,
    });
  }

  return new IdentityKey(await createDefaultIdentity(defaultPath, onNotice));
}

async function createDefaultIdentity(path: string, onNotice?: (message: string) => void) {
  try {
    const created = await createIdentityFile(path);
    onNotice?.(`created identity file ${path} (mode 0600); keep it out of git`);
    return created;
  } catch (error) {
    // Another process created it first; use that one rather than a key of our own.
    if (isErrorCode(error, 'EEXIST')) {
      return readIdentityFile(path);
    }
    throw new StoreError('store_identity_create_failed', `Cannot create the identity file ${path}: ${errorMessage(error)}.`, {
      hint: `Check that you may write to ${dirname(path)}, or set ${IDENTITY_VARIABLE} to an existing identity file.`,
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) {
      return false;
    }
    throw new StoreError('store_read_failed', `Cannot check ${path}: ${errorMessage(error)}.`, {
      hint: `Check the permissions of ${dirname(path)}.`,
    });
  }
}
