/** The plan as a person reads it, in the manner of Terraform's plan output. */

import { accountsOverDeleteLimit, neededMaxDeletes } from '../../plan/safety.js';
import type { AccountPlan, Action } from '../../plan/types.js';
import { describeVerifier } from '../../plan/verifier.js';
import type { Style } from '../io.js';
import type { FailedAccount } from '../session.js';

export interface Summary {
  add: number;
  change: number;
  remove: number;
}

export function summarize(plans: readonly AccountPlan[]): Summary {
  const summary: Summary = { add: 0, change: 0, remove: 0 };
  for (const plan of plans) {
    for (const action of plan.actions) {
      if (action.kind === 'create') summary.add++;
      else if (action.kind === 'delete') summary.remove++;
      else if (action.kind === 'rotate' || action.kind === 'repair' || action.kind === 'replace') {
        summary.add++;
        summary.remove++;
      } else summary.change++;
    }
  }
  return summary;
}

function actionLines(action: Action, style: Style): string[] {
  const lines: string[] = [];
  switch (action.kind) {
    case 'create':
      lines.push(style.green(`  + create ${action.type} method "${action.label}"${action.primary ? ' (primary)' : ''}`));
      break;
    case 'update': {
      const changes: string[] = [];
      if (action.changes.label) changes.push(`label ${JSON.stringify(action.changes.label.from)} -> "${action.changes.label.to}"`);
      if (action.changes.primary) changes.push(`primary ${action.changes.primary.from} -> ${action.changes.primary.to}`);
      lines.push(style.yellow(`  ~ update ${action.type} method #${action.methodId} "${action.label}": ${changes.join(', ')}`));
      break;
    }
    case 'delete':
      lines.push(style.red(`  - delete ${action.type} method #${action.methodId}${action.label === null ? '' : ` "${action.label}"`}`));
      break;
    case 'adopt':
      lines.push(style.yellow(`  ~ adopt ${action.type} method #${action.methodId} "${action.label}" (record its id)`));
      break;
    case 'regenerate-backup-codes':
      lines.push(style.yellow('  ~ regenerate backup codes'));
      break;
    default:
      lines.push(style.yellow(`-/+ ${action.kind} ${action.type} method #${action.methodId} "${action.label}" (enroll a new one, then remove the old)`));
  }
  lines.push(style.dim(`      reason: ${action.reason}`));
  if ('verifier' in action) lines.push(style.dim(`      verified by: ${describeVerifier(action.verifier)}`));
  return lines;
}

const PLAIN: Style = { bold: (t) => t, green: (t) => t, yellow: (t) => t, red: (t) => t, dim: (t) => t };

/** Returns an action as one line without colour, e.g. `+ create totp method "ci-bot"`. */
export function actionText(action: Action): string {
  return (actionLines(action, PLAIN)[0] ?? '').trim();
}

/** Returns "1 account" or "3 accounts". */
export function countAccounts(count: number): string {
  return count === 1 ? '1 account' : `${count} accounts`;
}

/**
 * Returns `account "NAME": ERROR` for an error line, without a second prefix when the error
 * text already starts with the account (errors about a key or a lock name it themselves).
 */
export function accountError(account: string, error: string): string {
  const prefix = `account "${account}"`;
  return error.startsWith(prefix) ? error : `${prefix}: ${error}`;
}

/** Returns a list line `  x NAME: ERROR`, dropping an `account "NAME": ` prefix from the error. */
export function failureItem(failure: FailedAccount): string {
  const prefix = `account "${failure.account}": `;
  const error = failure.error.startsWith(prefix) ? failure.error.slice(prefix.length) : failure.error;
  return `  x ${failure.account}: ${error}`;
}

/** Lists the accounts that could not be planned, each with the reason. */
export function failedLines(failed: readonly FailedAccount[], style: Style): string[] {
  if (failed.length === 0) return [];
  return [style.red(`Failed: ${failed.length} account(s) could not be read:`), ...failed.map((f) => style.red(failureItem(f))), ''];
}

/** Returns the last line of a plan: the totals, and how many accounts failed. */
function planSummaryLine(plans: readonly AccountPlan[], failed: readonly FailedAccount[], style: Style): string {
  const changed = plans.filter((p) => p.actions.length > 0);
  const blocked = plans.filter((p) => p.blockers.length > 0);
  const failures =
    (failed.length === 0 ? '' : `; ${countAccounts(failed.length)} failed: see the errors on stderr`) +
    (blocked.length === 0 ? '' : `; ${countAccounts(blocked.length)} cannot be applied`);

  if (plans.length === 0) {
    return failed.length === 0 ? 'No account could be planned.' : style.red(`No account could be planned${failures}.`);
  }
  if (changed.length === 0 && failed.length === 0 && blocked.length === 0) {
    return style.green(plans.length === 1 ? 'No changes. The account matches the manifest.' : 'No changes. The accounts match the manifest.');
  }
  if (changed.length === 0) {
    return style.yellow(`No changes in ${countAccounts(plans.length)}${failures}.`);
  }
  const summary = summarize(plans);
  return style.bold(`Plan: ${summary.add} to add, ${summary.change} to change, ${summary.remove} to remove${failures}.`);
}

/**
 * Warns about each account whose plan removes more methods than `--max-deletes`, because apply
 * stops there before it changes anything.
 */
export function deleteLimitLines(plans: readonly AccountPlan[], maxDeletes: number, style: Style): string[] {
  const over = accountsOverDeleteLimit(plans, maxDeletes);
  if (over.length === 0) return [];

  const lines = [style.yellow(`Warning: apply stops before changing anything, because this plan removes more methods from an account than --max-deletes ${maxDeletes} allows:`)];
  for (const excess of over) lines.push(style.yellow(`  ! ${excess.account}: removes ${excess.deletes} methods`));
  lines.push(style.yellow(`If the plan is right, apply it with --max-deletes ${neededMaxDeletes(over)}.`), '');
  return lines;
}

/**
 * Renders every account's plan, then the accounts that failed. With `maxDeletes`, it also warns
 * about accounts whose removals apply would stop at.
 */
export function renderHuman(plans: readonly AccountPlan[], style: Style, failed: readonly FailedAccount[] = [], maxDeletes?: number): string {
  const out: string[] = [];
  // An account that cannot be applied is shown even when it has no action, with the reason.
  const changed = plans.filter((p) => p.actions.length > 0 || p.blockers.length > 0);
  const drifted = plans.filter((p) => p.drift.length > 0);

  if (changed.length > 0) {
    out.push('tfa-gitops will perform the following actions:', '');
    for (const plan of changed) {
      out.push(style.bold(`  # account ${plan.account}`));
      for (const action of plan.actions) out.push(...actionLines(action, style));
      if (plan.authorization) out.push(style.dim(`    adding methods is authorized by ${describeVerifier(plan.authorization)}`));
      for (const blocker of plan.blockers) out.push(style.red(`    cannot apply: ${blocker}`));
      out.push('');
    }
  }

  if (drifted.length > 0) {
    out.push('Drift that this plan leaves alone:', '');
    for (const plan of drifted) {
      for (const item of plan.drift) out.push(`  ! ${plan.account}: ${item.message}`);
    }
    out.push('');
  }

  if (maxDeletes !== undefined) out.push(...deleteLimitLines(plans, maxDeletes, style));
  out.push(...failedLines(failed, style));
  out.push(planSummaryLine(plans, failed, style));
  return `${out.join('\n')}\n`;
}
