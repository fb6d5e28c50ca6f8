/**
 * The deletion gate: a plan that removes more methods from one account than the threshold
 * stops before anything changes, and names the flag that overrides it.
 */

import { TfaError } from '../errors.js';
import type { AccountPlan } from './types.js';

export const DEFAULT_MAX_DELETES = 1;

export class UnsafePlanError extends TfaError {}

/** Counts the methods a plan removes without enrolling a replacement. */
export function countDeletes(plan: AccountPlan): number {
  return plan.actions.filter((action) => action.kind === 'delete').length;
}

/** An account whose plan removes more methods than the threshold allows. */
export interface DeleteLimitExcess {
  account: string;
  deletes: number;
}

/** Returns the accounts over the threshold, in the order of `plans`; empty when all are within it. */
export function accountsOverDeleteLimit(plans: readonly AccountPlan[], maxDeletes: number): DeleteLimitExcess[] {
  return plans
    .map((plan) => ({ account: plan.account, deletes: countDeletes(plan) }))
    .filter((excess) => excess.deletes > maxDeletes);
}

/** Returns one line per account over the threshold; empty when the plan is within it. */
export function overDeleteLimit(plans: readonly AccountPlan[], maxDeletes: number): string[] {
  return accountsOverDeleteLimit(plans, maxDeletes).map(
    (excess) => `account "${excess.account}" would lose ${excess.deletes} methods, more than --max-deletes ${maxDeletes}`,
  );
}

/** Returns the smallest `--max-deletes` value that lets every account in `over` through. */
export function neededMaxDeletes(over: readonly DeleteLimitExcess[]): number {
  return Math.max(0, ...over.map((excess) => excess.deletes));
}

export function checkDeleteLimit(plans: readonly AccountPlan[], maxDeletes: number): void {
  const over = overDeleteLimit(plans, maxDeletes);
  if (over.length === 0) return;
  const needed = Math.max(...plans.map(countDeletes));
  throw new UnsafePlanError('unsafe_plan', `the plan removes too many methods: ${over.join('; ')}`, {
    hint: `review the plan; if it is right, run apply again with --max-deletes ${needed}`,
  });
}
