/** Plans and drift reports as JSON for machines: versioned, with sorted keys for stable diffs. */

import type { AccountDrift } from '../../plan/drift.js';
import { summarizeDrift } from '../../plan/drift.js';
import type { AccountPlan } from '../../plan/types.js';
import { sortKeys } from '../canonical.js';
import type { SavedPlanInfo } from '../saved-plan.js';
import type { FailedAccount } from '../session.js';
import { summarize } from './human.js';

export type { FailedAccount } from '../session.js';

/** The JSON form of a plan; `schemas/plan.schema.json` describes it. */
export interface PlanDocument {
  formatVersion: 1;
  kind: 'plan';
  accounts: AccountPlan[];
  failed: FailedAccount[];
  summary: ReturnType<typeof summarize>;
  changes: boolean;
  /** Present in a plan file written by `plan --out`. */
  saved?: SavedPlanInfo;
}

export function planDocument(plans: readonly AccountPlan[], failed: readonly FailedAccount[], saved?: SavedPlanInfo): PlanDocument {
  return {
    formatVersion: 1,
    kind: 'plan',
    accounts: [...plans],
    failed: [...failed],
    summary: summarize(plans),
    changes: plans.some((p) => p.actions.length > 0),
    ...(saved ? { saved } : {}),
  };
}

export function renderJson(plans: readonly AccountPlan[], failed: readonly FailedAccount[]): string {
  return `${JSON.stringify(sortKeys(planDocument(plans, failed)), null, 2)}\n`;
}

/** Renders a drift report as JSON, in the form `schemas/drift.schema.json` describes. */
export function renderDriftJson(accounts: readonly AccountDrift[], staleAfterDays: number | null): string {
  const document = {
    formatVersion: 1,
    kind: 'drift',
    staleAfterDays,
    accounts,
    summary: summarizeDrift(accounts),
    drift: accounts.some((a) => a.status === 'drifted'),
  };
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}
