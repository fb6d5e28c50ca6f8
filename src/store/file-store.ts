import { statSync } from 'node:fs';
import { mkdir, open, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import type { AgeKey } from './age-key.js';
import { writeFileAtomic } from './atomic.js';
import { StoreConflictError, StoreError } from './errors.js';
import { errorMessage, isErrorCode } from './fs-errors.js';
import { runExclusive } from './mutex.js';
import { assertOwnerOnly, isOwnerOnly } from './permissions.js';
import { emptyContents, parseContents, serializeContents, type StoreContents } from './store-file.js';
import { emptyRecord, type AccountRecord, type SecretStore, type VersionedRecord } from './types.js';
import { withLockFile, type LockFileOptions } from './write-lock.js';

export interface FileStoreOptions {
  /** Options of the cross-process lock file taken around each write. */
  lock?: LockFileOptions;
}

/** Decrypted contents with the identity of the file they came from. */
interface CachedContents {
  /** Device, inode, size and modification time in nanoseconds: any write changes one of them. */
  fingerprint: string;
  contents: StoreContents;
}

/**
 * A secret store in one age-encrypted file of JSON. Each write re-reads the file under a
 * lock file, checks the account's version, and replaces the file atomically. Decrypted
 * contents are cached until the file changes, because a passphrase costs about 1.5 s per
 * decryption.
 */
export class FileStore implements SecretStore {
  readonly location: string;
  readonly writable = true;
  readonly #path: string;
  readonly #lockPath: string;
  readonly #key: AgeKey;
  readonly #lockOptions: LockFileOptions;
  #cache: CachedContents | undefined;
  #decryptions = 0;

  constructor(path: string, key: AgeKey, options: FileStoreOptions = {}) {
    this.#path = path;
    this.#lockPath = `${path}.lock`;
    this.#key = key;
    this.#lockOptions = options.lock ?? {};
    this.location = path;
  }

  /** Number of times this store decrypted its file. Reads of an unchanged file use the cache instead. */
  get decryptions(): number {
    return this.#decryptions;
  }

  async read(account: string): Promise<VersionedRecord> {
    const contents = await this.#load();
    const entry = contents.accounts.get(account);
    if (entry === undefined) {
      return { record: emptyRecord(), version: 0 };
    }
    // A copy, so that a caller changing the record cannot change the cache.
    return structuredClone(entry);
  }

  /** Returns the cached records themselves after one check of the file: callers must not change them. */
  async readAll(): Promise<ReadonlyMap<string, VersionedRecord>> {
    return (await this.#load()).accounts;
  }

  async write(account: string, record: AccountRecord, expectedVersion: number): Promise<number> {
    if (account === '') {
      throw new StoreError('store_invalid_account', `Cannot write to ${this.location}: the account name is empty.`);
    }
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new StoreError('store_invalid_version', `Cannot write account "${account}" to ${this.location}: expected version ${expectedVersion} is not an integer of at least 0.`);
    }

    // The lock file lives next to the store, so the folder must exist before the first write.
    try {
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StoreError('store_write_failed', `Cannot create the store folder ${dirname(this.#path)}: ${errorMessage(error)}.`, {
        hint: 'Check the store path in the manifest and the permissions of its parent folders.',
      });
    }

    // The in-process queue keeps concurrent writers of this process from polling the lock
    // file. The lock file then excludes other processes.
    const queueKey = await canonicalPath(this.#path);
    return runExclusive(queueKey, () =>
      withLockFile(this.#lockPath, () => this.#writeLocked(account, record, expectedVersion), this.#lockOptions),
    );
  }

  async list(): Promise<string[]> {
    const contents = await this.#load();
    return [...contents.accounts.keys()].sort();
  }

  async close(): Promise<void> {
    // A file store keeps no open handle or connection between calls.
  }

  async #writeLocked(account: string, record: AccountRecord, expectedVersion: number): Promise<number> {
    const contents = await this.#load();
    const actualVersion = contents.accounts.get(account)?.version ?? 0;
    if (actualVersion !== expectedVersion) {
      throw new StoreConflictError(this.location, account, expectedVersion, actualVersion);
    }

    const version = actualVersion + 1;
    const next: StoreContents = { accounts: new Map(contents.accounts) };
    next.accounts.set(account, { version, record: structuredClone(record) });
    const plaintext = serializeContents(next);
    const ciphertext = await this.#key.encrypt(plaintext);

    try {
      await writeFileAtomic(this.#path, ciphertext);
    } catch (error) {
      throw new StoreError('store_write_failed', `Cannot write the store ${this.#path}: ${errorMessage(error)}.`, {
        hint: `Check free space and that you may write to ${dirname(this.#path)}.`,
      });
    }

    // Caching what was written spares the next read a decryption.
    const fingerprint = await this.#fingerprintOfPath();
    this.#cache = fingerprint === undefined ? undefined : { fingerprint, contents: next };
    return version;
  }

  /** Reads and decrypts the store file, or returns the cache when the file has not changed. */
  async #load(): Promise<StoreContents> {
    const unchanged = this.#cacheIfUnchanged();
    if (unchanged !== undefined) {
      return unchanged;
    }

    let handle;
    try {
      handle = await open(this.#path, 'r');
    } catch (error) {
      if (isErrorCode(error, 'ENOENT')) {
        this.#cache = undefined;
        return emptyContents();
      }
      throw this.#readError(error);
    }

    try {
      // The handle's stat and contents belong to one file even if a writer renames a new one over it.
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) {
        throw new StoreError('store_not_file', `The store ${this.#path} is not a regular file.`, {
          hint: "Point the manifest's store at a file path.",
        });
      }
      assertOwnerOnly(this.#path, await handle.stat(), 'store file');

      const fingerprint = fingerprintOf(stats);
      if (this.#cache?.fingerprint === fingerprint) {
        return this.#cache.contents;
      }

      const file = await handle.readFile();
      const plaintext = await this.#key.decrypt(file, this.#path);
      this.#decryptions += 1;
      const contents = parseContents(plaintext, this.#path);
      this.#cache = { fingerprint, contents };
      return contents;
    } catch (error) {
      throw error instanceof StoreError ? error : this.#readError(error);
    } finally {
      await handle.close();
    }
  }

  /**
   * Returns the cached contents when the file still has the cached fingerprint, else
   * undefined so that the caller loads the file. A plan reads every account through here,
   * so the check is one synchronous stat, which takes microseconds on a local disk. The
   * open, stat and close of a full load cost about 0.2 ms of CPU time per read through the
   * thread pool, which made the store the largest cost of a 1,000-account plan.
   * NOTE: on a slow network file system the stat blocks the event loop while it runs.
   */
  #cacheIfUnchanged(): StoreContents | undefined {
    const cache = this.#cache;
    if (cache === undefined) {
      return undefined;
    }

    let stats;
    try {
      stats = statSync(this.#path, { bigint: true, throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (stats === undefined || !stats.isFile() || fingerprintOf(stats) !== cache.fingerprint) {
      return undefined;
    }
    // A file that others may read now goes to the full load, which raises the permission error.
    if (!isOwnerOnly(Number(stats.mode))) {
      return undefined;
    }
    return cache.contents;
  }

  async #fingerprintOfPath(): Promise<string | undefined> {
    try {
      const handle = await open(this.#path, 'r');
      try {
        return fingerprintOf(await handle.stat({ bigint: true }));
      } finally {
        await handle.close();
      }
    } catch {
      return undefined;
    }
  }

  #readError(error: unknown): StoreError {
    return new StoreError('store_read_failed', `Cannot read the store ${this.#path}: ${errorMessage(error)}.`, {
      hint: `Check that ${this.#path} is a file you may read.`,
    });
  }
}

function fingerprintOf(stats: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`;
}

/**
 * Returns the store path with symbolic links in its folder resolved, so that two spellings
 * of one store share one in-process write queue. The file itself may not exist yet.
 */
async function canonicalPath(path: string): Promise<string> {
  try {
    return join(await realpath(dirname(path)), basename(path));
  } catch {
    return path;
  }
}
