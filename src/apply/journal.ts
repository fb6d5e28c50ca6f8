/**
 * The journal: one account's store record as the executor sees it, written through
 * check-and-set. A write that loses a race re-reads the record and applies the same change
 * again, so a concurrent writer's change is never overwritten.
 */

import type { AccountRecord, SecretStore, VersionedRecord } from '../store/types.js';
import { TfaError } from '../errors.js';

const MAX_CONFLICT_RETRIES = 5;

function isConflict(error: unknown): boolean {
  return error instanceof TfaError && error.code === 'store_conflict';
}

export class Journal {
  private current: VersionedRecord;

  constructor(
    private readonly store: SecretStore,
    readonly account: string,
    initial: VersionedRecord,
  ) {
    this.current = initial;
  }

  static async open(store: SecretStore, account: string): Promise<Journal> {
    return new Journal(store, account, await store.read(account));
  }

  get record(): AccountRecord {
    return this.current.record;
  }

  get version(): number {
    return this.current.version;
  }

  async refresh(): Promise<AccountRecord> {
    this.current = await this.store.read(this.account);
    return this.current.record;
  }

  /**
   * Applies `change` to a copy of the record and writes it; resolves once the store has it.
   * `change` must be safe to run again on a fresher record.
   */
  async update(change: (record: AccountRecord) => void): Promise<AccountRecord> {
    for (let attempt = 0; ; attempt++) {
      const next = structuredClone(this.current.record);
      change(next);
      try {
        const version = await this.store.write(this.account, next, this.current.version);
        this.current = { record: next, version };
        return next;
      } catch (error) {
        if (!isConflict(error) || attempt >= MAX_CONFLICT_RETRIES) throw error;
        await this.refresh();
      }
    }
  }
}
