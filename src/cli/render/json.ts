/** The plan as JSON for machines: versioned, with sorted keys for stable diffs. */

import type { AccountPlan } from '../../plan/types.js';
import { summarize } from './human.js';

export interface FailedAccount {
  account: string;
  error: string;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

export function renderJson(plans: readonly AccountPlan[], failed: readonly FailedAccount[]): string {
  const document = {
    formatVersion: 1,
    accounts: plans,
    failed,
    summary: summarize(plans),
    changes: plans.some((p) => p.actions.length > 0),
  };
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}
