/**
 * The secret store: where seeds and backup codes live. One record per account, read and
 * written whole, with a version for check-and-set so that two writers never overwrite
 * each other.
 */

export type MethodRecordState = 'pending' | 'active' | 'retired';

/** A TOTP method the tool enrolled (or is enrolling), keyed by its label within the account. */
export interface MethodRecord {
  label: string;
  type: 'totp';
  /** Base32 seed, normalised (upper case, no spaces or padding). */
  seed: string;
  /** The id the server gave the method; null until confirm-new succeeded and the status was read. */
  methodId: number | null;
  /** `pending` before confirm-new, `active` after, `retired` while an old seed awaits removal. */
  state: MethodRecordState;
  /** ISO 8601 times. */
  createdAt: string;
  updatedAt: string;
  /** The last TOTP time step (epoch seconds / 30) a code from this seed was sent for. */
  lastCodeStep?: number;
}

export interface BackupCodeRecord {
  code: string;
  used: boolean;
  /** ISO 8601, set when the tool spent the code. */
  usedAt?: string;
}

/** The holder of an account's apply lock, recorded so that a second apply can name it. */
export interface LockRecord {
  host: string;
  pid: number;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601; a lock past this time is stale and may be taken over. */
  expiresAt: string;
  /** Random token so the holder can tell its own lock from a later one. */
  token: string;
}

/** An SMS code the server sent recently, kept so a later run can ask for it again (resend). */
export interface SmsChallengeRecord {
  /** E.164 number for an enrollment, or `method:ID` for a verification of an SMS method. */
  destination: string;
  /** The challenge token the send returned. */
  secret: string;
  /** ISO 8601. */
  sentAt: string;
}

export interface AccountRecord {
  methods: MethodRecord[];
  /**
   * The Vast user id that the account's methods belong to, recorded when the tool first finds
   * them live, so that an API key for another account is caught before anything changes.
   */
  userId?: number;
  /** An API key, kept in the record NAME for manifests whose apiKey is `{ store: NAME }`. */
  apiKey?: string;
  /** SMS challenges younger than 10 minutes; older ones have expired on the server. */
  smsChallenges?: SmsChallengeRecord[];
  backupCodes: BackupCodeRecord[];
  /** ISO 8601 time the current set of backup codes was received. */
  backupCodesIssuedAt?: string;
  lock?: LockRecord;
}

/** An account record with the version it was read at; version 0 means "absent". */
export interface VersionedRecord {
  record: AccountRecord;
  version: number;
}

export interface SecretStore {
  /** The store's location for messages, with any credential removed. */
  readonly location: string;
  /**
   * False for a store that can only be read, such as env://. Callers check it before they
   * start work that must write, so that the work is rejected before it changes anything.
   */
  readonly writable: boolean;
  /** Reads one account's record; an absent account reads as an empty record at version 0. */
  read(account: string): Promise<VersionedRecord>;
  /**
   * Reads every account's record in one go, for a caller about to read many, such as a plan.
   * The records may be shared with the store's cache, so callers must not change them.
   * Optional: a store without it is read account by account.
   */
  readAll?(): Promise<ReadonlyMap<string, VersionedRecord>>;
  /**
   * Writes one account's record if its current version is still `expectedVersion`, and
   * returns the new version. Throws StoreConflictError when another writer got there first.
   * The write is durable when the promise resolves.
   */
  write(account: string, record: AccountRecord, expectedVersion: number): Promise<number>;
  /** Names of the accounts that have a record. */
  list(): Promise<string[]>;
  close(): Promise<void>;
}

export function emptyRecord(): AccountRecord {
  return { methods: [], backupCodes: [] };
}
