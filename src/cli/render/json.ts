/** Plans and drift reports as JSON for machines: versioned, with sorted keys for stable diffs. */

import type { AccountDrift } from '../../plan/drift.js';
import { summarizeDrift } from '../../plan/drift.js';
import { accountsOverDeleteLimit } from '../../plan/safety.js';
import type { AccountPlan } from '../../plan/types.js';
import { sortKeys } from '../canonical.js';
import type { SavedPlanInfo } from '../saved-plan.js';
import type { FailedAccount } from '../session.js';
import { summarize } from './human.js';

export type { FailedAccount } from '../session.js';

/** An account's plan in the JSON form; `overDeleteLimit` is set when the document has `maxDeletes`. */
export type PlanDocumentAccount = AccountPlan & { overDeleteLimit?: boolean };

/** The JSON form of a plan; `schemas/plan.schema.json` describes it. */
export interface PlanDocument {
  formatVersion: 1;
  kind: 'plan';
  accounts: PlanDocumentAccount[];
  failed: FailedAccount[];
  summary: ReturnType<typeof summarize>;
  changes: boolean;
  /** The `--max-deletes` value the plan was checked against. */
  maxDeletes?: number;
  /** Accounts whose plan removes more than `maxDeletes` methods, so apply would stop. */
  accountsOverDeleteLimit?: string[];
  /** Present in a plan file written by `plan --out`. */
  saved?: SavedPlanInfo;
}

export function planDocument(plans: readonly AccountPlan[], failed: readonly FailedAccount[], saved?: SavedPlanInfo, maxDeletes?: number): PlanDocument {
  const document: PlanDocument = {
    formatVersion: 1,
    kind: 'plan',
    accounts: [...plans],
    failed: [...failed],
    summary: summarize(plans),
    changes: plans.some((p) => p.actions.length > 0),
    ...(saved ? { saved } : {}),
  };
  if (maxDeletes === undefined) return document;

  const over = new Set(accountsOverDeleteLimit(plans, maxDeletes).map((excess) => excess.account));
  document.maxDeletes = maxDeletes;
  document.accountsOverDeleteLimit = [...over];
  document.accounts = plans.map((plan) => ({ ...plan, overDeleteLimit: over.has(plan.account) }));
  return document;
}

export function renderJson(plans: readonly AccountPlan[], failed: readonly FailedAccount[], maxDeletes?: number): string {
  return `${JSON.stringify(sortKeys(planDocument(plans, failed, undefined, maxDeletes)), null, 2)}\n`;
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
