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

/** Returns one line per account over the threshold; empty when the plan is within it. */
export function overDeleteLimit(plans: readonly AccountPlan[], maxDeletes: number): string[] {
  return plans
    .filter((plan) => countDeletes(plan) > maxDeletes)
    .map((plan) => `account "${plan.account}" would lose ${countDeletes(plan)} methods, more than --max-deletes ${maxDeletes}`);
}

export function checkDeleteLimit(plans: readonly AccountPlan[], maxDeletes: number): void {
  const over = overDeleteLimit(plans, maxDeletes);
  if (over.length === 0) return;
  const needed = Math.max(...plans.map(countDeletes));
  throw new UnsafePlanError('unsafe_plan', `the plan removes too many methods: ${over.join('; ')}`, {
    hint: `review the plan; if it is right, run apply again with --max-deletes ${needed}`,
  });
}
