import { TfaError } from '../errors.js';

/** A secret store that cannot be opened, read, decrypted or written. The message names the store's path and the fix. */
export class StoreError extends TfaError {}

/** A write whose `expectedVersion` is no longer the account's version, because another writer got there first. */
export class StoreConflictError extends StoreError {
  readonly account: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;

  constructor(location: string, account: string, expectedVersion: number, actualVersion: number) {
    super(
      'store_conflict',
      `The record of account "${account}" in ${location} is at version ${actualVersion}, not the expected version ${expectedVersion}: another writer changed it.`,
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
