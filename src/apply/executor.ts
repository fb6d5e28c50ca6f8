/**
 * The executor: runs one account's plan step by step in the planner's order (add before
 * remove), under the account's lock, after checking that the account and the store still
 * match what the plan was made from.
 */

import type { VastClient } from '../api/client.js';
import { OutcomeUnknownError } from '../api/errors.js';
import type { TfaStatus } from '../api/types.js';
import { TfaError } from '../errors.js';
import type { DesiredAccount } from '../manifest/types.js';
import { planAccount } from '../plan/planner.js';
import { chooseVerifier } from '../plan/verifier.js';
import type { AccountPlan, Action, DeleteAction, RegenerateAction, ReplaceAction, UpdateAction } from '../plan/types.js';
import { retireBackupCodes, storeBackupCodes } from './backup-codes.js';
import { type AccountRun, type ApplyOptions, emit, nowSeconds } from './context.js';
import { enroll } from './enroll.js';
import { Journal } from './journal.js';
import { acquireLock, describeLock, isExpired, releaseLock } from './lock.js';
import { checkClockSkew } from './skew.js';
import { verificationFor, withVerification } from './verify.js';

export interface AccountResult {
  account: string;
  /** Descriptions of the steps that completed. */
  done: string[];
  error?: TfaError | Error;
}

export class StalePlanError extends TfaError {}

/** The status read that a plan of this same run was made from, which the executor may reuse. */
export interface StatusBasis {
  observed: TfaStatus;
  /** The version of the account's store record that the plan read. */
  storeVersion: number;
  /** Local epoch milliseconds at or before which the status was read. */
  readAtMs: number;
}

/**
 * Maximum age of a plan's status read that the executor reuses instead of reading the
 * status again, in milliseconds. An `apply --auto-approve` starts within seconds of its plan.
 * A plan that waited longer, e.g. for a person to approve it, is checked against a new read.
 */
export const MAX_STATUS_BASIS_AGE_MS = 30_000;

/**
 * Returns the plan's status when it may stand in for a new read: it is recent, and the only
 * write to the store record since the plan read it is the lock this run just took. Every
 * apply writes its lock to the record, so a version exactly one above the plan's means that
 * no other tfa-gitops run changed the account in between.
 * NOTE: a change made outside tfa-gitops (e.g. in the web console) in those seconds is not
 * seen before the first action. The server still checks every request.
 */
function reusableStatus(basis: StatusBasis | undefined, journal: Journal, nowMs: number): TfaStatus | undefined {
  if (basis === undefined) return undefined;
  if (nowMs - basis.readAtMs > MAX_STATUS_BASIS_AGE_MS) return undefined;
  if (journal.version !== basis.storeVersion + 1) return undefined;
  return basis.observed;
}

/**
 * Records which Vast user the account's methods belong to, the first time a stored method is
 * seen live, so that a later key for another account is caught by the planner.
 */
async function recordUserId(journal: Journal, observed: TfaStatus): Promise<void> {
  if (journal.record.userId !== undefined) return;
  const known = observed.methods.find((m) => journal.record.methods.some((r) => r.methodId === m.id && r.state === 'active'));
  if (!known) return;
  await journal.update((record) => {
    record.userId = known.user_id;
  });
}

/**
 * Tells whether backup codes spent as verifiers in this run left the account below its
 * `backupCodes.minRemaining`, so that the apply does not end with a plan that has changes.
 */
async function belowPolicyAfterSpending(run: AccountRun): Promise<boolean> {
  const minimum = run.desired.backupCodes?.minRemaining;
  if (minimum === undefined || run.spentBackupCodes === 0) return false;
  run.observed = await run.client.getStatus();
  return run.observed.tfa_enabled && run.observed.backup_codes_remaining < minimum;
}

/** Returns a stable text for an action's effect, to compare an approved plan with a fresh one. */
function signature(action: Action): string {
  switch (action.kind) {
    case 'create':
      return `create ${action.type} ${action.label} primary=${action.primary}`;
    case 'update':
      return `update #${action.methodId} ${JSON.stringify(action.changes)}`;
    case 'regenerate-backup-codes':
      return 'regenerate-backup-codes';
    default:
      return `${action.kind} #${action.methodId}`;
  }
}

async function applyUpdate(run: AccountRun, action: UpdateAction): Promise<void> {
  const request: { tfa_method_id: number; label?: string; is_primary?: boolean } = { tfa_method_id: action.methodId };
  if (action.changes.label) request.label = action.changes.label.to;
  if (action.changes.primary) request.is_primary = action.changes.primary.to;
  await run.client.updateMethod(request);
}

/** Removes a method, verified by one that stays. A lost response is settled by reading the status. */
async function removeMethod(run: AccountRun, action: DeleteAction | ReplaceAction): Promise<void> {
  const excluded = new Set([action.methodId]);
  try {
    await withVerification(run, action.verifier, excluded, async (verifier) =>
      run.client.deleteMethod({ ...(await verificationFor(run, verifier)), target_id: action.methodId }),
    );
  } catch (error) {
    if (!(error instanceof OutcomeUnknownError)) throw error;
    run.observed = await run.client.getStatus();
    if (run.observed.methods.some((m) => m.id === action.methodId)) throw error;
  }

  run.observed = { ...run.observed, methods: run.observed.methods.filter((m) => m.id !== action.methodId) };
  // The seed of a removed method can make no more codes: its record goes with it.
  await run.journal.update((record) => {
    record.methods = record.methods.filter((r) => r.methodId !== action.methodId);
  });
}

async function regenerate(run: AccountRun, action: RegenerateAction | null): Promise<void> {
  // A regeneration that the plan did not list (the first method's lost codes) chooses its
  // verifier now, among the methods this run enrolled.
  const planned =
    action?.verifier ??
    chooseVerifier({ desired: run.desired, observed: run.observed, stored: run.journal.record, nowSeconds: nowSeconds(run) });
  const answer = await withVerification(run, planned, new Set(), async (verifier) => {
    const verification = await verificationFor(run, verifier);
    await retireBackupCodes(run);
    return run.client.regenerateBackupCodes(verification);
  });
  await storeBackupCodes(run, answer.backup_codes);
}

async function runAction(run: AccountRun, action: Action, plan: AccountPlan): Promise<void> {
  switch (action.kind) {
    case 'adopt':
      await run.journal.update((record) => {
        const entry = record.methods.find((r) => r.label === action.label && r.state === 'pending' && r.methodId === null);
        if (!entry) return;
        const time = new Date().toISOString();
        entry.methodId = action.methodId;
        entry.state = 'active';
        entry.updatedAt = time;
        // An older seed under the same label belongs to a method this adoption replaces.
        for (const other of record.methods) {
          if (other !== entry && other.label === action.label && other.state === 'active') {
            other.state = 'retired';
            other.updatedAt = time;
          }
        }
      });
      return;
    case 'create':
      await enroll(run, { ...action, authorization: plan.authorization });
      return;
    case 'rotate':
    case 'repair':
    case 'replace':
      await enroll(run, { ...action, authorization: plan.authorization });
      await removeMethod(run, action);
      return;
    case 'update':
      await applyUpdate(run, action);
      return;
    case 'regenerate-backup-codes':
      await regenerate(run, action);
      return;
    case 'delete':
      await removeMethod(run, action);
      return;
  }
}

export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'create':
      return `create ${action.type} method "${action.label}"`;
    case 'update':
      return `update method #${action.methodId} "${action.label}"`;
    case 'delete':
      return `delete method #${action.methodId}${action.label === null ? '' : ` "${action.label}"`}`;
    case 'regenerate-backup-codes':
      return 'regenerate backup codes';
    default:
      return `${action.kind} method #${action.methodId} "${action.label}"`;
  }
}

/**
 * Applies an approved plan to one account. Resolves with what was done; an error stops this
 * account only, and is returned rather than thrown so other accounts go on. With `basis`,
 * the status the plan was made from in this run, the check before the first action reuses
 * that status when reusableStatus allows it, which saves one request per account.
 */
export async function applyAccount(
  plan: AccountPlan,
  desired: DesiredAccount,
  client: VastClient,
  options: ApplyOptions,
  rotate?: ReadonlySet<string>,
  basis?: StatusBasis,
): Promise<AccountResult> {
  const result: AccountResult = { account: desired.name, done: [] };
  const journal = await Journal.open(options.store, desired.name);
  let lock: { token: string } | undefined;
  try {
    const taken = await acquireLock(journal, options.now?.());
    lock = taken;
    if (taken.replaced) {
      const why = isExpired(taken.replaced, options.now?.() ?? Date.now()) ? 'an expired lock' : 'the lock of a process that is gone';
      options.onEvent?.({ type: 'warning', account: desired.name, message: `took over ${why} (${describeLock(taken.replaced)})` });
    }

    // The lock is taken before this check, so no other run can change the account after it.
    const observed = reusableStatus(basis, journal, options.now?.() ?? Date.now()) ?? (await client.getStatus());
    // The status response's Date header measures the local clock before any TOTP code is made.
    const skew = checkClockSkew(client.clockOffsetMs, client.baseUrl);
    if (skew.warning) options.onEvent?.({ type: 'warning', account: desired.name, message: skew.warning });
    const nowSeconds = (options.now?.() ?? Date.now()) / 1000;
    const fresh = planAccount({ desired, observed, stored: journal.record, nowSeconds, ...(rotate ? { rotate } : {}) });
    const approved = plan.actions.map(signature).join('\n');
    if (fresh.actions.map(signature).join('\n') !== approved) {
      throw new StalePlanError('plan_stale', `account "${desired.name}" changed since the plan was made`, {
        hint: 'run plan again and review the new plan',
      });
    }
    if (fresh.blockers.length > 0) {
      throw new TfaError('plan_blocked', `cannot apply "${desired.name}": ${fresh.blockers.join('; ')}`);
    }

    await recordUserId(journal, observed);
    const run: AccountRun = {
      desired,
      client,
      journal,
      options,
      observed,
      authorized: false,
      failures: new Map(),
      lostBackupCodes: false,
      spentBackupCodes: 0,
    };
    for (const action of fresh.actions) {
      emit(run, `${describeAction(action)}: ${action.reason}`);
      await runAction(run, action, fresh);
      result.done.push(describeAction(action));
    }
    if (run.lostBackupCodes) {
      emit(run, 'the backup codes of the first method were lost with its answer: regenerating them', 'warning');
      await regenerate(run, null);
      result.done.push('regenerate backup codes');
    } else if (await belowPolicyAfterSpending(run)) {
      emit(run, 'this run spent backup codes to verify, leaving fewer than backupCodes.minRemaining: regenerating them');
      await regenerate(run, null);
      result.done.push('regenerate backup codes');
    }
  } catch (error) {
    result.error = error instanceof Error ? error : new Error(String(error));
  } finally {
    if (lock) await releaseLock(journal, lock.token).catch(() => undefined);
  }
  return result;
}
