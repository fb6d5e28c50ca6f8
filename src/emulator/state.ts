/**
 * The emulator's model: accounts, their methods, challenges and the outbox. Everything is
 * plain JSON data so that `GET /_emulator/state` and the `--state` file can show and store
 * it as is. Field names follow the API's own snake_case.
 */

import type { LiveMethod, MethodType } from '../api/types.js';

export interface MethodModel {
  id: number;
  user_id: number;
  method: MethodType;
  label: string | null;
  /** SMS only: the full E.164 number (the API shows it masked). */
  phone_number: string | null;
  /** TOTP only: the base32 seed (the API never shows it after setup). */
  secret: string | null;
  is_primary: boolean;
  /** Wrong codes since the last success or the end of the last lock. */
  fail_count: number;
  /** Epoch seconds, or null when not locked. */
  locked_until: number | null;
  /** Epoch seconds (float). */
  created_at: number;
  /** Epoch seconds (float), null until first use. */
  last_used: number | null;
  /** TOTP only: the last time step a code was accepted for, to reject replays. */
  last_accepted_step: number | null;
  /** Wrong codes ever received for this method; never reset. */
  wrong_codes_total: number;
}

/** A deleted method, kept so that its `wrong_codes_total` stays visible in the state. */
export interface RemovedMethodModel extends MethodModel {
  /** Epoch seconds (float). */
  removed_at: number;
}

export interface BackupCodeModel {
  code: string;
  used: boolean;
}

/** A TOTP seed handed out by totp-setup; confirm-new accepts it once. */
export interface IssuedSeedModel {
  secret: string;
  /** Epoch seconds (float). */
  issued_at: number;
  used: boolean;
  /** Wrong codes received at confirm-new for this seed. */
  fail_count: number;
}

export interface AccountModel {
  id: number;
  email: string;
  email_verified: boolean;
  api_key: string;
  methods: MethodModel[];
  removed_methods: RemovedMethodModel[];
  /** The current set; an earlier set is dropped when a new one is issued. */
  backup_codes: BackupCodeModel[];
  issued_seeds: IssuedSeedModel[];
  /** End of the add-method authorization window in epoch seconds, or null. */
  authorized_until: number | null;
  /** Wrong codes ever received for email challenges of this account. */
  email_wrong_codes_total: number;
}

/** The channel a challenge's code goes out by; a `totp` challenge sends nothing and expects a TOTP code. */
export type ChallengeChannel = 'sms' | 'email' | 'totp';

/**
 * The use a challenge can be spent on: `verify` for login, delete and regen (from
 * POST /tfa/sms/ or /tfa/email/), `authorize` for the PUT of authorize-new-method, `enroll`
 * for confirm-new of an SMS method.
 */
export type ChallengePurpose = 'verify' | 'authorize' | 'enroll';

export interface ChallengeModel {
  /** The challenge token handed to the client. */
  secret: string;
  account_id: number;
  channel: ChallengeChannel;
  purpose: ChallengePurpose;
  /** The method the challenge verifies; null for email and SMS enrollment. */
  method_id: number | null;
  /** SMS only: where the code went. */
  phone_number: string | null;
  /** The code sent; null for `totp` challenges. */
  code: string | null;
  /** Epoch seconds (float). */
  created_at: number;
  /** Wrong codes received for this challenge. */
  fail_count: number;
}

export interface OutboxMessageModel {
  account_id: number;
  channel: 'sms' | 'email';
  /** The full phone number or the email address. */
  to: string;
  code: string;
  /** Epoch seconds (float). */
  sent_at: number;
}

export interface EmulatorState {
  next_account_id: number;
  next_method_id: number;
  accounts: AccountModel[];
  challenges: ChallengeModel[];
  outbox: OutboxMessageModel[];
  /** SMS send times (epoch seconds) per phone number, across accounts, for the rate limit. */
  sms_sends: Record<string, number[]>;
}

/** The whole state as `GET /_emulator/state` returns it and the `--state` file stores it. */
export interface EmulatorSnapshot extends EmulatorState {
  format_version: 1;
  /** Emulator time in epoch seconds (float) when the snapshot was taken. */
  now: number;
  clock_offset_seconds: number;
}

export function createEmptyState(): EmulatorState {
  return {
    next_account_id: 1,
    next_method_id: 1,
    accounts: [],
    challenges: [],
    outbox: [],
    sms_sends: {},
  };
}

/** Accounts by API key, per accounts list, with the list's length when the index was built. */
const keyIndexes = new WeakMap<AccountModel[], { length: number; byKey: Map<string, AccountModel> }>();

/**
 * Returns the account with this API key. Every API request calls this, so it looks the key
 * up in an index instead of scanning the accounts. The emulator only appends accounts, so the
 * index is rebuilt when the list's length differs. A hit is checked against the account's
 * key, so a key changed in place never matches under its old value.
 */
export function findAccountByApiKey(state: EmulatorState, apiKey: string): AccountModel | undefined {
  let index = keyIndexes.get(state.accounts);
  if (index === undefined || index.length !== state.accounts.length) {
    index = { length: state.accounts.length, byKey: new Map(state.accounts.map((account) => [account.api_key, account])) };
    keyIndexes.set(state.accounts, index);
  }

  const account = index.byKey.get(apiKey);
  if (account !== undefined && account.api_key === apiKey) return account;
  // A miss falls back to the scan, which also finds a key changed in place.
  return state.accounts.find((candidate) => candidate.api_key === apiKey);
}

export function findMethod(account: AccountModel, methodId: number): MethodModel | undefined {
  return account.methods.find((method) => method.id === methodId);
}

export function methodsOfType(account: AccountModel, type: MethodType): MethodModel[] {
  return account.methods.filter((method) => method.method === type);
}

export function unusedBackupCodeCount(account: AccountModel): number {
  return account.backup_codes.filter((code) => !code.used).length;
}

export function isAuthorized(account: AccountModel, now: number): boolean {
  return account.authorized_until !== null && now < account.authorized_until;
}

/** Ends a lock whose time has passed; the method then starts again from zero failures. */
export function expireLock(method: MethodModel, now: number): void {
  if (method.locked_until === null || now < method.locked_until) return;

  // NOTE: whether the real service clears fail_count when a lock ends is unknown. Clearing
  // it here means that the next wrong code does not lock the method again at once.
  method.locked_until = null;
  method.fail_count = 0;
}

/** Masks a phone number to its last four digits, as the status shows it: "******1234". */
export function maskPhoneNumber(phoneNumber: string): string {
  return `******${phoneNumber.slice(-4)}`;
}

/**
 * The method as the API shows it: masked phone number, no seed, no internal counters.
 * Ends an expired lock first, so the result never shows a lock that is over.
 */
export function toLiveMethod(method: MethodModel, now: number): LiveMethod {
  expireLock(method, now);

  const live: LiveMethod = {
    id: method.id,
    user_id: method.user_id,
    method: method.method,
    label: method.label,
    is_primary: method.is_primary,
    fail_count: method.fail_count,
    locked_until: method.locked_until,
    created_at: method.created_at,
    last_used: method.last_used,
  };
  if (method.method === 'sms') live.phone_number = method.phone_number === null ? null : maskPhoneNumber(method.phone_number);
  return live;
}
