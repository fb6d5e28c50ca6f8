/** The drift report as a person reads it: one block per drifted account, then a summary. */

import type { AccountDrift, Finding } from '../../plan/drift.js';
import { summarizeDrift } from '../../plan/drift.js';
import type { Style } from '../io.js';
import { failedLines } from './human.js';

/** Returns what apply would do about a finding, for the end of its line. */
export function fixText(finding: Finding): string {
  return finding.fix === null ? 'apply leaves it' : `apply would ${finding.fix}`;
}

export function renderDriftHuman(accounts: readonly AccountDrift[], style: Style): string {
  const out: string[] = [];
  const drifted = accounts.filter((a) => a.status === 'drifted');
  const failed = accounts.filter((a) => a.status === 'failed');
  const summary = summarizeDrift(accounts);

  if (drifted.length > 0) {
    out.push(`Drift found in ${drifted.length} of ${accounts.length} account(s):`, '');
    for (const account of drifted) {
      out.push(style.bold(`  # account ${account.account}`));
      for (const finding of account.findings) {
        out.push(style.yellow(`  ! ${finding.kind}: ${finding.reason}`));
        out.push(style.dim(`      ${fixText(finding)}`));
      }
      for (const blocker of account.blockers) out.push(style.red(`    apply cannot fix it as it stands: ${blocker}`));
      out.push('');
    }
  }

  out.push(...failedLines(failed.map((a) => ({ account: a.account, error: a.error ?? 'unknown error' })), style));

  if (accounts.length === 0) {
    out.push('No account selected.');
  } else if (drifted.length === 0 && failed.length === 0) {
    out.push(style.green(`No drift. All ${accounts.length} account(s) match the manifest.`));
  } else {
    const text = `Drift: ${summary.drifted} drifted, ${summary.inSync} in sync, ${summary.failed} failed; ${summary.findings} finding(s).`;
    out.push(style.bold(text));
  }
  return `${out.join('\n')}\n`;
}
