/**
 * Turns a planned verifier into a verification the API accepts: a code from a stored seed,
 * a code that a provider fetches after the server sent it, or a stored backup code. A backup
 * code is marked used in the store before it is sent.
 */

import type { Verification } from '../api/types.js';
import { TfaError } from '../errors.js';
import type { Verifier } from '../plan/types.js';
import { chooseVerifier, describeVerifier } from '../plan/verifier.js';
import { type AccountRun, emit, nowSeconds, verifierKey } from './context.js';
import { sendSmsCode } from './sms.js';

/** A verifier that fails this many times in one run is not tried again. */
export const MAX_FAILURES_PER_VERIFIER = 2;

export class VerificationError extends TfaError {}

/** Returns the stored seed of a TOTP method, by id, or of the method this run enrolled. */
export function seedFor(run: AccountRun, verifier: Extract<Verifier, { kind: 'totp' }>): { seed: string; methodId: number } {
  const record = run.journal.record.methods.find((r) =>
    verifier.methodId === null
      ? r.label === verifier.label && r.state === 'active'
      : r.methodId === verifier.methodId && r.state !== 'pending',
  );
  if (!record || record.methodId === null) {
    throw new VerificationError('seed_missing', `the store holds no seed for TOTP method "${verifier.label}"`, {
      hint: 'run plan again: the method needs a repair',
    });
  }
  return { seed: record.seed, methodId: record.methodId };
}

/** Produces a TOTP code that has not been sent in this 30-second step, and records the step. */
export async function totpCode(run: AccountRun, seed: string, methodId: number | null): Promise<string> {
  const record = run.journal.record.methods.find((r) => r.seed === seed);
  const lastStep = record?.lastCodeStep;
  const signal = run.options.signal;
  const result = await run.options.codes.next(seed, { ...(lastStep === undefined ? {} : { lastStep }), ...(signal ? { signal } : {}) });
  // The step is stored before the code is sent, so a second run within the same 30 seconds
  // waits instead of sending a code the server would refuse as a replay.
  if (record) {
    await run.journal.update((next) => {
      const entry = next.methods.find((r) => r.seed === seed);
      if (entry) entry.lastCodeStep = result.step;
    });
  }
  if (result.waitedMs > 0) emit(run, `waited ${Math.round(result.waitedMs / 1000)}s for a new TOTP step${methodId === null ? '' : ` of method #${methodId}`}`);
  return result.code;
}

/** Asks the provider for a code the server just sent by SMS or email. */
export async function providedCode(run: AccountRun, channel: 'email' | 'sms', sentAfter: number, label?: string): Promise<string> {
  const provider = run.options.providerFor(run.desired, channel, label);
  if (!provider) {
    throw new VerificationError('no_code_provider', `account "${run.desired.name}" has no code provider for ${channel} codes`, {
      hint: channel === 'email' ? 'set emailCodes for the account' : 'set codes for the SMS method',
    });
  }
  return provider.getCode(
    { account: run.desired.name, channel, sentAfter },
    run.options.signal,
  );
}

/** Takes an unused stored backup code and marks it used in the store before it is sent. */
export async function spendBackupCode(run: AccountRun): Promise<string> {
  const unused = run.journal.record.backupCodes.find((c) => !c.used);
  if (!unused) throw new VerificationError('no_backup_code', `the store holds no unused backup code for "${run.desired.name}"`);
  const code = unused.code;
  run.spentBackupCodes += 1;
  await run.journal.update((record) => {
    const entry = record.backupCodes.find((c) => c.code === code);
    if (entry) {
      entry.used = true;
      entry.usedAt = new Date().toISOString();
    }
  });
  return code;
}

/** Builds the verification body for login, delete and regenerate-backup-codes. */
export async function verificationFor(run: AccountRun, verifier: Verifier): Promise<Verification> {
  switch (verifier.kind) {
    case 'totp': {
      const { seed, methodId } = seedFor(run, verifier);
      const code = await totpCode(run, seed, methodId);
      return { tfa_method: 'totp', code, tfa_method_id: methodId };
    }
    case 'sms': {
      const sentAfter = nowSeconds(run);
      const secret = await sendSmsCode(run, { methodId: verifier.methodId });
      const code = await providedCode(run, 'sms', sentAfter, verifier.label);
      return { tfa_method: 'sms', code, secret, tfa_method_id: verifier.methodId };
    }
    case 'email': {
      const sentAfter = nowSeconds(run);
      const challenge = await run.client.sendEmail();
      const code = await providedCode(run, 'email', sentAfter);
      return { tfa_method: 'email', code, secret: challenge.secret };
    }
    case 'backupCode':
      return { backup_code: await spendBackupCode(run) };
  }
}

export function apiCodeOf(error: unknown): string | undefined {
  return error instanceof TfaError && 'apiCode' in error ? String((error as { apiCode: unknown }).apiCode) : undefined;
}

function isWrongCode(error: unknown): boolean {
  const code = apiCodeOf(error);
  return code === '2fa_verification_failed' || code === 'invalid_backup_code';
}

function isLockedError(error: unknown): boolean {
  return apiCodeOf(error) === 'tfa_locked';
}

/**
 * Runs `call` with a verification from `planned`, falling back to the next verifier in the
 * account's order when one is refused. A verifier is dropped after two failures in this run,
 * well before the server's lockout (3 for SMS, 5 for TOTP), so no third wrong code is sent.
 */
export async function withVerification<T>(
  run: AccountRun,
  planned: Verifier | null,
  excludedIds: ReadonlySet<number>,
  attempt: (verifier: Verifier) => Promise<T>,
): Promise<T> {
  let verifier = planned;
  for (;;) {
    if (verifier === null) {
      const rejected = [...run.failures].filter(([, count]) => count >= MAX_FAILURES_PER_VERIFIER).map(([key]) => key);
      if (rejected.length > 0) {
        throw new VerificationError(
          'verification_rejected',
          `no usable method can verify this step for "${run.desired.name}": the server rejected the codes of ${rejected.join(', ')} twice each`,
          { hint: 'check that each code provider prints the newest code it received, and that the clock is right' },
        );
      }
      throw new VerificationError('no_verifier', `no usable method can verify this step for "${run.desired.name}"`, {
        hint: 'check the drift for locked methods, or add a code provider (emailCodes) to the account',
      });
    }
    const key = verifierKey(verifier);
    if ((run.failures.get(key) ?? 0) < MAX_FAILURES_PER_VERIFIER) {
      try {
        return await attempt(verifier);
      } catch (error) {
        if (!isWrongCode(error) && !isLockedError(error)) throw error;
        const failures = isLockedError(error) ? MAX_FAILURES_PER_VERIFIER : (run.failures.get(key) ?? 0) + 1;
        run.failures.set(key, failures);
        const next = failures < MAX_FAILURES_PER_VERIFIER ? 'trying it again' : 'not trying it again in this run';
        emit(run, `${describeVerifier(verifier)} was rejected (${failures} of ${MAX_FAILURES_PER_VERIFIER}): ${next}`, 'warning');
        if (failures < MAX_FAILURES_PER_VERIFIER) continue;
      }
    }
    verifier = nextVerifier(run, excludedIds);
  }
}

function nextVerifier(run: AccountRun, excludedIds: ReadonlySet<number>): Verifier | null {
  const excluded = new Set(excludedIds);
  const excludedKinds = new Set<Verifier['kind']>();
  for (const [key, count] of run.failures) {
    if (count < MAX_FAILURES_PER_VERIFIER) continue;
    const [kind, id] = key.split(':');
    if (id !== undefined && id !== 'new') excluded.add(Number(id));
    else excludedKinds.add(kind as Verifier['kind']);
  }
  return chooseVerifier({
    desired: run.desired,
    observed: run.observed,
    stored: run.journal.record,
    nowSeconds: nowSeconds(run),
    excluded,
    excludedKinds,
  });
}
