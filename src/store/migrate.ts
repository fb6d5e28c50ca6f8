/**
 * Copies every account record from one store to another, verifies each copy by reading it
 * back, and only reads the source. Versions are not copied: each store counts its own.
 */

import { isDeepStrictEqual } from 'node:util';

import { StoreError } from './errors.js';
import type { AccountRecord, SecretStore, VersionedRecord } from './types.js';

export type MigrationOutcome = 'copied' | 'unchanged' | 'replaced';

export interface MigratedRecord {
  account: string;
  outcome: MigrationOutcome;
  /** The record's version in the source store. */
  sourceVersion: number;
  /** The record's version in the destination store after the copy. */
  destinationVersion: number;
}

export interface MigrateOptions {
  /** Replace destination records that differ from the source. @default false */
  force?: boolean;
  /** Copy only these accounts; each must have a record in the source. @default every account the source lists */
  accounts?: readonly string[];
  /** Epoch milliseconds, to judge whether an apply lock has expired. @default Date.now() */
  nowMs?: number;
}

interface PlannedCopy {
  account: string;
  source: VersionedRecord;
  destination: VersionedRecord;
  outcome: MigrationOutcome;
}

/**
 * Copies the records and returns what happened to each, in account order. Checks everything
 * before writing anything: a destination that cannot be written, a source account under a
 * live apply lock, or (without `force`) a destination record that differs from the source
 * rejects the whole migration.
 */
export async function migrateStore(source: SecretStore, destination: SecretStore, options: MigrateOptions = {}): Promise<MigratedRecord[]> {
  if (!destination.writable) {
    throw new StoreError('store_read_only', `Cannot migrate to ${destination.location}: the store is read-only.`, {
      hint: 'Migrate to a writable store: file://, vault:// or exec://.',
    });
  }

  const accounts = [...new Set(options.accounts ?? (await source.list()))].sort();
  const planned = await planCopies(source, destination, accounts, options);

  const results: MigratedRecord[] = [];
  for (const copy of planned) {
    results.push(await copyRecord(copy, destination));
  }
  return results;
}

async function planCopies(source: SecretStore, destination: SecretStore, accounts: string[], options: MigrateOptions): Promise<PlannedCopy[]> {
  const nowMs = options.nowMs ?? Date.now();
  const planned: PlannedCopy[] = [];
  for (const account of accounts) {
    const from = await source.read(account);
    if (from.version === 0) {
      throw new StoreError('store_migrate_missing', `Cannot migrate account "${account}": ${source.location} has no record for it.`, {
        hint: 'Name only accounts the source store holds.',
      });
    }

    const lock = from.record.lock;
    if (lock !== undefined && Date.parse(lock.expiresAt) > nowMs) {
      throw new StoreError('store_migrate_locked', `Cannot migrate account "${account}": an apply has locked it (pid ${lock.pid} on ${lock.host}, until ${lock.expiresAt}).`, {
        hint: 'Wait for that apply to finish, then migrate, so that no seed it stores is left behind.',
      });
    }

    const to = await destination.read(account);
    const outcome: MigrationOutcome = to.version === 0 ? 'copied' : sameRecord(to.record, from.record) ? 'unchanged' : 'replaced';
    planned.push({ account, source: from, destination: to, outcome });
  }

  const differing = planned.filter((copy) => copy.outcome === 'replaced').map((copy) => `"${copy.account}"`);
  if (differing.length > 0 && options.force !== true) {
    throw new StoreError('store_migrate_conflict', `Cannot migrate to ${destination.location}: it already contains a different record for ${differing.join(', ')}. Nothing was copied.`, {
      hint: 'Compare the two records, then run the migration again with --force to replace them.',
    });
  }
  return planned;
}

async function copyRecord(copy: PlannedCopy, destination: SecretStore): Promise<MigratedRecord> {
  const { account, source, outcome } = copy;
  if (outcome === 'unchanged') {
    return { account, outcome, sourceVersion: source.version, destinationVersion: copy.destination.version };
  }

  // The destination's version read during planning makes this a check-and-set write, so a
  // writer that changed the destination since then is not overwritten.
  const written = await destination.write(account, source.record, copy.destination.version);

  const readBack = await destination.read(account);
  if (readBack.version !== written || !sameRecord(readBack.record, source.record)) {
    throw new StoreError('store_migrate_verify_failed', `The copy of account "${account}" in ${destination.location} does not read back as written (version ${readBack.version}, written ${written}).`, {
      hint: 'Check the destination store; the source is unchanged, so the migration can be run again.',
    });
  }
  return { account, outcome, sourceVersion: source.version, destinationVersion: written };
}

/** Compares records as their JSON shows them, so an absent field equals an undefined one. */
export function sameRecord(a: AccountRecord, b: AccountRecord): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}
