/**
 * The executor: runs one account's plan step by step in the planner's order (add before
 * remove), under the account's lock, after checking that the account and the store still
 * match what the plan was made from.
 */

import type { VastClient } from '../api/client.js';
import { OutcomeUnknownError } from '../api/errors.js';
import { TfaError } from '../errors.js';
import type { DesiredAccount } from '../manifest/types.js';
import { planAccount } from '../plan/planner.js';
import { chooseVerifier } from '../plan/verifier.js';
import type { AccountPlan, Action, DeleteAction, RegenerateAction, ReplaceAction, UpdateAction } from '../plan/types.js';
import { retireBackupCodes, storeBackupCodes } from './backup-codes.js';
import { type AccountRun, type ApplyOptions, emit, nowSeconds } from './context.js';
import { enroll } from './enroll.js';
import { Journal } from './journal.js';
import { acquireLock, describeLock, releaseLock } from './lock.js';
import { checkClockSkew } from './skew.js';
import { verificationFor, withVerification } from './verify.js';

export interface AccountResult {
  account: string;
  /** Descriptions of the steps that completed. */
  done: string[];
  error?: TfaError | Error;
}

export class StalePlanError extends TfaError {}

/** A stable text for an action's effect, to compare an approved plan with a fresh one. */
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

/** Removes a method, verified by one that stays; a lost answer is settled by reading the status. */
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
 * account only, and is returned rather than thrown so other accounts go on.
 */
export async function applyAccount(
  plan: AccountPlan,
  desired: DesiredAccount,
  client: VastClient,
  options: ApplyOptions,
  rotate?: ReadonlySet<string>,
): Promise<AccountResult> {
  const result: AccountResult = { account: desired.name, done: [] };
  const journal = await Journal.open(options.store, desired.name);
  let lock: { token: string } | undefined;
  try {
    const taken = await acquireLock(journal, options.now?.());
    lock = taken;
    if (taken.replaced) {
      options.onEvent?.({ type: 'warning', account: desired.name, message: `took over an expired lock (${describeLock(taken.replaced)})` });
    }

    const observed = await client.getStatus();
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

    const run: AccountRun = {
      desired,
      client,
      journal,
      options,
      observed,
      authorized: false,
      failures: new Map(),
      lostBackupCodes: false,
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
    }
  } catch (error) {
    result.error = error instanceof Error ? error : new Error(String(error));
  } finally {
    if (lock) await releaseLock(journal, lock.token).catch(() => undefined);
  }
  return result;
}
