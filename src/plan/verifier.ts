/**
 * The choice of verifier: which method proves a step (authorize, delete, regenerate).
 * Preference comes from the account's `verifyWith` order; locked methods, methods about to
 * be removed and methods that failed twice in this run are skipped.
 */

import type { LiveMethod, TfaStatus } from '../api/types.js';
import type { DesiredAccount } from '../manifest/types.js';
import type { AccountRecord } from '../store/types.js';
import type { Verifier } from './types.js';

export interface VerifierContext {
  desired: DesiredAccount;
  observed: TfaStatus;
  stored: AccountRecord;
  nowSeconds: number;
  /** Method ids that cannot verify this step: being removed, or failed twice in this run. */
  excluded?: ReadonlySet<number>;
  /** Channels that cannot verify this step in this run (e.g. email after two failures). */
  excludedKinds?: ReadonlySet<Verifier['kind']>;
}

export function isLocked(method: LiveMethod, nowSeconds: number): boolean {
  return method.locked_until !== null && method.locked_until > nowSeconds;
}

/** Returns the live TOTP methods whose seed the store holds, by method id. */
export function totpWithSeed(observed: TfaStatus, stored: AccountRecord): Map<number, LiveMethod> {
  const byId = new Map<number, LiveMethod>();
  for (const record of stored.methods) {
    if (record.methodId === null || record.state === 'pending') continue;
    const live = observed.methods.find((m) => m.id === record.methodId && m.method === 'totp');
    if (live) byId.set(live.id, live);
  }
  return byId;
}

/** Returns the live SMS methods the manifest names with a code provider. */
function smsWithProvider(desired: DesiredAccount, observed: TfaStatus): LiveMethod[] {
  return observed.methods.filter(
    (live) =>
      live.method === 'sms' &&
      desired.methods.some(
        (d) => d.type === 'sms' && d.label === live.label && lastFour(d.phone) === lastFour(live.phone_number ?? ''),
      ),
  );
}

export function lastFour(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return digits.slice(-4);
}

export function unusedBackupCodes(stored: AccountRecord): number {
  return stored.backupCodes.filter((code) => !code.used).length;
}

/**
 * Picks the first usable verifier in the account's `verifyWith` order, or null when none can
 * verify. Locked methods are skipped: a code sent to them would only extend the lock.
 */
export function chooseVerifier(context: VerifierContext): Verifier | null {
  const { desired, observed, stored, nowSeconds } = context;
  const excluded = context.excluded ?? new Set<number>();
  const excludedKinds = context.excludedKinds ?? new Set<Verifier['kind']>();
  const usable = (m: LiveMethod): boolean => !excluded.has(m.id) && !isLocked(m, nowSeconds);

  for (const kind of desired.verifyWith) {
    if (excludedKinds.has(kind)) continue;

    if (kind === 'totp') {
      const method = [...totpWithSeed(observed, stored).values()].find(usable);
      if (method) return { kind: 'totp', methodId: method.id, label: method.label ?? '' };
    }
    if (kind === 'sms') {
      const method = smsWithProvider(desired, observed).find(usable);
      if (method) return { kind: 'sms', methodId: method.id, label: method.label ?? '' };
    }
    if (kind === 'email' && desired.emailCodes !== undefined) {
      return { kind: 'email' };
    }
    if (kind === 'backupCode' && unusedBackupCodes(stored) > 0 && observed.backup_codes_remaining > 0) {
      return { kind: 'backupCode' };
    }
  }
  return null;
}

export function describeVerifier(verifier: Verifier | null): string {
  if (verifier === null) return 'no verifier';
  switch (verifier.kind) {
    case 'totp':
      return verifier.methodId === null
        ? `the new TOTP method "${verifier.label}"`
        : `TOTP method "${verifier.label}" (#${verifier.methodId})`;
    case 'sms':
      return `SMS method "${verifier.label}" (#${verifier.methodId})`;
    case 'email':
      return 'an emailed code';
    case 'backupCode':
      return 'a stored backup code';
  }
}
