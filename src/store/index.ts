export { DEFAULT_SCRYPT_WORK_FACTOR, IdentityKey, PASSPHRASE_VARIABLE, PassphraseKey, type AgeKey } from './age-key.js';
export { StoreConflictError, StoreError } from './errors.js';
export { DEFAULT_IDENTITY_FILE, IDENTITY_VARIABLE, resolveFileStoreKey } from './file-store-key.js';
export { FileStore, type FileStoreOptions } from './file-store.js';
export { createIdentityFile, readIdentityFile, type IdentityFile } from './identity.js';
export { openStore, type OpenStoreOptions } from './open.js';
export * from './types.js';
