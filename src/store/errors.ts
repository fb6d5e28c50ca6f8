import { TfaError } from '../errors.js';

/** A secret store that cannot be opened, read, decrypted or written. The message names the store's path and the fix. */
export class StoreError extends TfaError {}

/** A write whose `expectedVersion` is no longer the account's version, because another writer got there first. */
export class StoreConflictError extends StoreError {
  readonly account: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;

  /** `detail` is the store's own word on the conflict, such as Vault's error message. */
  constructor(location: string, account: string, expectedVersion: number, actualVersion: number, detail?: string) {
    super(
      'store_conflict',
      `The record of account "${account}" in ${location} is at version ${actualVersion}, not the expected version ${expectedVersion}: another writer changed it${detail === undefined ? '' : ` (${detail})`}.`,
      { hint: 'Read the record again, reapply the change and write it with the new version.' },
    );
    this.account = account;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A write to a store that can only be read, such as env://. */
export class StoreReadOnlyError extends StoreError {
  readonly account: string;

  constructor(location: string, account: string, detail: string) {
    super('store_read_only', `Cannot store the record of account "${account}": the store ${location} is read-only (${detail}).`, {
      hint: 'Use a writable store (file://, vault:// or exec://) to apply changes; env:// serves plans and applies that change nothing.',
    });
    this.account = account;
  }
}

/**
 * Throws StoreError `store_read_only` when `store` cannot be written and `accounts` is not
 * empty. An apply calls it before it acts, because even a plan that adds nothing to a record
 * takes the account's apply lock, which is kept in the record.
 */
export function requireWritable(store: { location: string; writable: boolean }, accounts: readonly string[]): void {
  if (store.writable || accounts.length === 0) return;

  const names = accounts.map((account) => `"${account}"`).join(', ');
  const records = accounts.length === 1 ? 'the record of account' : 'the records of accounts';
  throw new StoreError('store_read_only', `Cannot apply: the store ${store.location} is read-only, and the plan must write ${records} ${names} (the apply lock, and any new seed or backup codes).`, {
    hint: 'Apply with a writable store (file://, vault:// or exec://), for example by migrating the records with "tfa-gitops store migrate".',
  });
}
