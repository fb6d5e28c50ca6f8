/**
 * Drift detection: the differences between an account and its manifest entry, as a read-only
 * audit reports them. It reuses the planner's output (every plan action is a difference apply
 * would fix, every plan drift item one it leaves alone) and adds methods unused for too long.
 * Pure, like the planner: the same input always gives the same findings.
 */

import type { LiveMethod, TfaStatus } from '../api/types.js';
import type { DesiredAccount } from '../manifest/types.js';
import type { AccountPlan, Action, ActionKind, DriftItem } from './types.js';

/** The kind of difference a finding reports: a closed set, so reports can group and count them. */
export type FindingKind =
  /** The manifest lists a method the account lacks. */
  | 'missing-method'
  /** The account has a method the manifest does not list. */
  | 'extra-method'
  /** A listed method exists but its label, primary flag or phone number differs. */
  | 'different-method'
  /** A method is locked after too many wrong codes. */
  | 'locked-method'
  /** Fewer unused backup codes remain than `backupCodes.minRemaining`. */
  | 'backup-codes-below-policy'
  /** The account has more unused backup codes than the store holds. */
  | 'backup-codes-not-stored'
  /** The store contains a seed for a method the account no longer has. */
  | 'orphan-record'
  /** A live TOTP method whose seed the store lacks, so the tool cannot make its codes. */
  | 'seed-missing'
  /** The store contains a seed for a live method but not the method's id. */
  | 'record-without-id'
  /** A TOTP seed is older than its method's `rotateAfterDays`. */
  | 'rotation-due'
  /** A method not used for longer than the `staleAfterDays` limit. */
  | 'stale-method'
  /** A method the tool can neither verify with nor replace. */
  | 'unverifiable';

export const FINDING_KINDS: readonly FindingKind[] = [
  'missing-method',
  'extra-method',
  'different-method',
  'locked-method',
  'backup-codes-below-policy',
  'backup-codes-not-stored',
  'orphan-record',
  'seed-missing',
  'record-without-id',
  'rotation-due',
  'stale-method',
  'unverifiable',
];

export interface Finding {
  kind: FindingKind;
  /** The live method (or the stored record's method) concerned; null for account-wide findings. */
  methodId: number | null;
  label: string | null;
  reason: string;
  /** The action apply would take about it, or null when apply leaves it alone. */
  fix: ActionKind | null;
}

export interface DriftInput {
  desired: DesiredAccount;
  observed: TfaStatus;
  /** The planner's plan for the same desired, observed and stored state. */
  plan: AccountPlan;
  /** The server's time in epoch seconds, because `last_used` and `created_at` are server times. */
  serverNowSeconds: number;
  /** Methods unused for more than this many days are stale; undefined turns the check off. */
  staleAfterDays?: number;
}

const SECONDS_PER_DAY = 86_400;

function describeLive(method: LiveMethod): string {
  const label = method.label === null ? 'with no label' : `"${method.label}"`;
  return `${method.method.toUpperCase()} method ${label} (#${method.id})`;
}

function fromAction(action: Action, input: DriftInput): Finding {
  switch (action.kind) {
    case 'create':
      return { kind: 'missing-method', methodId: null, label: action.label, reason: action.reason, fix: action.kind };
    case 'update':
    case 'replace':
      return { kind: 'different-method', methodId: action.methodId, label: action.label, reason: action.reason, fix: action.kind };
    case 'delete':
      return { kind: 'extra-method', methodId: action.methodId, label: action.label, reason: action.reason, fix: action.kind };
    case 'adopt':
      return { kind: 'record-without-id', methodId: action.methodId, label: action.label, reason: action.reason, fix: action.kind };
    case 'repair':
      return { kind: 'seed-missing', methodId: action.methodId, label: action.label, reason: action.reason, fix: action.kind };
    case 'rotate':
      return { kind: 'rotation-due', methodId: action.methodId, label: action.label, reason: action.reason, fix: action.kind };
    case 'regenerate-backup-codes': {
      const minimum = input.desired.backupCodes?.minRemaining;
      const belowPolicy = minimum !== undefined && input.observed.backup_codes_remaining < minimum;
      const kind = belowPolicy ? 'backup-codes-below-policy' : 'backup-codes-not-stored';
      return { kind, methodId: null, label: null, reason: action.reason, fix: action.kind };
    }
  }
}

function fromPlanDrift(item: DriftItem): Finding {
  const kind: FindingKind = item.kind === 'unmanaged-method' ? 'extra-method' : item.kind;
  return { kind, methodId: item.methodId ?? null, label: item.label ?? null, reason: item.message, fix: null };
}

function staleFinding(method: LiveMethod, input: DriftInput, limitDays: number): Finding | undefined {
  const since = method.last_used ?? method.created_at;
  const days = (input.serverNowSeconds - since) / SECONDS_PER_DAY;
  if (days <= limitDays) return undefined;

  const whole = Math.floor(days);
  const reason =
    method.last_used === null
      ? `${describeLive(method)} was never used and was added ${whole} days ago, more than the ${limitDays}-day limit`
      : `${describeLive(method)} was last used ${whole} days ago, more than the ${limitDays}-day limit`;
  return { kind: 'stale-method', methodId: method.id, label: method.label, reason, fix: null };
}

/** Returns every difference between the account and its manifest entry, in plan order. */
export function detectDrift(input: DriftInput): Finding[] {
  const findings = input.plan.actions.map((action) => fromAction(action, input));
  findings.push(...input.plan.drift.map(fromPlanDrift));

  const limit = input.staleAfterDays;
  if (limit === undefined) return findings;

  // The planner may report stale methods itself one day; keep one finding per method.
  const alreadyStale = new Set(findings.filter((f) => f.kind === 'stale-method').map((f) => f.methodId));
  for (const method of input.observed.methods) {
    if (alreadyStale.has(method.id)) continue;
    const finding = staleFinding(method, input, limit);
    if (finding) findings.push(finding);
  }
  return findings;
}

/** One account's line in a drift report. */
export interface AccountDrift {
  account: string;
  /** `failed`: the account could not be read, and `error` contains the reason. */
  status: 'in-sync' | 'drifted' | 'failed';
  findings: Finding[];
  /** Reasons apply could not fix this account with the current plan; empty when it could. */
  blockers: string[];
  error: string | null;
}

export interface DriftSummary {
  accounts: number;
  inSync: number;
  drifted: number;
  failed: number;
  findings: number;
}

export function summarizeDrift(accounts: readonly AccountDrift[]): DriftSummary {
  return {
    accounts: accounts.length,
    inSync: accounts.filter((a) => a.status === 'in-sync').length,
    drifted: accounts.filter((a) => a.status === 'drifted').length,
    failed: accounts.filter((a) => a.status === 'failed').length,
    findings: accounts.reduce((sum, a) => sum + a.findings.length, 0),
  };
}
