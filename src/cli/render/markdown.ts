/**
 * Plans and drift reports as GitHub-flavoured Markdown, for a pull-request comment or
 * `$GITHUB_STEP_SUMMARY`: a summary table of the accounts with changes or errors, then a
 * section per account. Accounts without changes are counted, not listed, so that the table
 * stays readable for a large fleet.
 */

import type { AccountDrift } from '../../plan/drift.js';
import { summarizeDrift } from '../../plan/drift.js';
import { accountsOverDeleteLimit, neededMaxDeletes } from '../../plan/safety.js';
import type { AccountPlan, Action } from '../../plan/types.js';
import { describeVerifier } from '../../plan/verifier.js';
import type { FailedAccount } from '../session.js';
import { fixText } from './drift-human.js';
import { escapeMarkdown } from './escape.js';
import { actionText, summarize } from './human.js';

/**
 * Characters the table rows and the per-account sections may take. The GitHub API rejects a
 * longer comment body with "Body is too long (maximum is 65536 characters)", so the two
 * budgets leave room for the headings and the lines that count what was left out.
 */
export const TABLE_BUDGET = 25_000;
export const SECTION_BUDGET = 35_000;

function code(text: string): string {
  // Callers pass account names ([a-z0-9._-] by the manifest schema), action markers and flags,
  // so no backtick can end the span early.
  return `\`${text}\``;
}

/** Appends blocks of lines until the budget is spent, then a line saying how many were left out. */
function appendWithin(out: string[], blocks: string[][], budget: number, what: string): void {
  let used = 0;
  for (const [index, block] of blocks.entries()) {
    const size = block.reduce((sum, line) => sum + line.length + 1, 0);
    if (used + size > budget) {
      out.push('', `_${blocks.length - index} more ${what} left out to keep this comment within GitHub's size limit; the JSON output (--format json) lists them all._`, '');
      return;
    }
    used += size;
    out.push(...block);
  }
}

/**
 * Returns an action as a list item whose marker (+, ~, -, -/+) is a code span. Written bare,
 * `- + create` or `- - delete` parses as a nested list and the marker is lost.
 */
function actionItem(action: Action): string {
  const text = actionText(action);
  const space = text.indexOf(' ');
  const marker = text.slice(0, space);
  const rest = text.slice(space + 1);
  return `- ${code(marker)} ${escapeMarkdown(rest)}: ${escapeMarkdown(action.reason)}`;
}

/** Returns a warning paragraph naming the accounts that apply would stop at; empty when none. */
function deleteLimitWarning(plans: readonly AccountPlan[], maxDeletes: number | undefined): string[] {
  if (maxDeletes === undefined) return [];
  const over = accountsOverDeleteLimit(plans, maxDeletes);
  if (over.length === 0) return [];

  const accounts = over.map((excess) => `${code(excess.account)} (${excess.deletes})`).join(', ');
  return [
    `> **Warning:** apply stops before changing anything, because these accounts would lose more methods than ${code(`--max-deletes ${maxDeletes}`)} allows: ${accounts}. ` +
      `If the plan is right, apply it with ${code(`--max-deletes ${neededMaxDeletes(over)}`)}.`,
    '',
  ];
}

/**
 * Renders a plan for a pull-request comment. With `maxDeletes`, it also warns about accounts
 * whose removals apply would stop at.
 */
export function renderPlanMarkdown(plans: readonly AccountPlan[], failed: readonly FailedAccount[], maxDeletes?: number): string {
  const total = summarize(plans);
  const changed = plans.filter((p) => p.actions.length > 0 || p.blockers.length > 0);
  const out: string[] = ['### tfa-gitops plan', ''];

  const accounts = plans.length + failed.length;
  out.push(
    changed.length === 0 && failed.length === 0
      ? `**No changes.** All ${accounts} account(s) match the manifest.`
      : `**Plan: ${total.add} to add, ${total.change} to change, ${total.remove} to remove** in ${changed.length} of ${accounts} account(s)` +
          `${failed.length > 0 ? `; ${failed.length} account(s) failed` : ''}.`,
    '',
  );
  out.push(...deleteLimitWarning(plans, maxDeletes));
  if (changed.length === 0 && failed.length === 0) return `${out.join('\n')}\n`;

  out.push('| Account | Result | Add | Change | Remove |', '| --- | --- | ---: | ---: | ---: |');
  const rows = changed.map((plan) => {
    const counts = summarize([plan]);
    const result = plan.blockers.length > 0 ? 'blocked' : 'changes';
    return [`| ${code(plan.account)} | ${result} | ${counts.add} | ${counts.change} | ${counts.remove} |`];
  });
  rows.push(...failed.map(({ account }) => [`| ${code(account)} | failed | | | |`]));
  appendWithin(out, rows, TABLE_BUDGET, 'table row(s)');
  const unchanged = plans.length - changed.length;
  out.push('', `${unchanged} account(s) without changes.`, '');

  const sections = changed.map((plan) => {
    const lines = [`#### ${code(plan.account)}`, ''];
    for (const action of plan.actions) lines.push(actionItem(action));
    if (plan.authorization) lines.push(`- adding methods is authorized by ${escapeMarkdown(describeVerifier(plan.authorization))}`);
    for (const blocker of plan.blockers) lines.push(`- **cannot apply:** ${escapeMarkdown(blocker)}`);
    lines.push('');
    return lines;
  });
  if (failed.length > 0) sections.push(['#### Failed accounts', '', ...failed.map((f) => `- ${code(f.account)}: ${escapeMarkdown(f.error)}`), '']);
  appendWithin(out, sections, SECTION_BUDGET, 'account section(s)');
  return `${out.join('\n')}\n`;
}

export function renderDriftMarkdown(accounts: readonly AccountDrift[]): string {
  const summary = summarizeDrift(accounts);
  const listed = accounts.filter((a) => a.status !== 'in-sync');
  const out: string[] = ['### tfa-gitops drift', ''];

  if (listed.length === 0) {
    out.push(`**No drift.** All ${summary.accounts} account(s) match the manifest.`, '');
    return `${out.join('\n')}\n`;
  }
  out.push(
    `**Drift in ${summary.drifted} of ${summary.accounts} account(s)**, ${summary.findings} finding(s)` +
      `${summary.failed > 0 ? `; ${summary.failed} account(s) failed` : ''}.`,
    '',
    '| Account | Result | Findings | Kinds |',
    '| --- | --- | ---: | --- |',
  );
  const rows = listed.map((account) => {
    const kinds = [...new Set(account.findings.map((f) => f.kind))].join(', ');
    return [`| ${code(account.account)} | ${account.status} | ${account.findings.length} | ${kinds} |`];
  });
  appendWithin(out, rows, TABLE_BUDGET, 'table row(s)');
  out.push('', `${summary.inSync} account(s) in sync.`, '');

  const sections = listed.map((account) => {
    const lines = [`#### ${code(account.account)}`, ''];
    if (account.error !== null) lines.push(`- **failed:** ${escapeMarkdown(account.error)}`);
    for (const finding of account.findings) {
      lines.push(`- **${finding.kind}**: ${escapeMarkdown(finding.reason)} (${escapeMarkdown(fixText(finding))})`);
    }
    for (const blocker of account.blockers) lines.push(`- **apply cannot fix it as it stands:** ${escapeMarkdown(blocker)}`);
    lines.push('');
    return lines;
  });
  appendWithin(out, sections, SECTION_BUDGET, 'account section(s)');
  return `${out.join('\n')}\n`;
}
