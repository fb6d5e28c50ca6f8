/**
 * Plans and drift reports as JUnit XML, which CI systems show natively: one test suite, one
 * test case per account. A case fails when its account has changes or drift, and errors when
 * the account could not be read.
 */

import type { AccountDrift } from '../../plan/drift.js';
import type { AccountPlan } from '../../plan/types.js';
import type { FailedAccount } from '../session.js';
import { fixText } from './drift-human.js';
import { escapeXmlAttribute as attr, escapeXmlText as text } from './escape.js';
import { actionText } from './human.js';

interface TestCase {
  name: string;
  /** `type` is `changes` for a plan and `drift` for a drift report. */
  failure?: { type: string; message: string; body: string[] };
  error?: string;
}

function renderSuite(suiteName: string, className: string, cases: readonly TestCase[]): string {
  const failures = cases.filter((c) => c.failure).length;
  const errors = cases.filter((c) => c.error !== undefined).length;
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="0"`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(suiteName)}" ${counts}>`,
    `  <testsuite name="${attr(suiteName)}" ${counts}>`,
  ];
  for (const testCase of cases) {
    const open = `    <testcase classname="${attr(className)}" name="${attr(testCase.name)}"`;
    if (testCase.failure) {
      out.push(`${open}>`);
      out.push(`      <failure message="${attr(testCase.failure.message)}" type="${attr(testCase.failure.type)}">${text(testCase.failure.body.join('\n'))}</failure>`);
      out.push('    </testcase>');
    } else if (testCase.error !== undefined) {
      out.push(`${open}>`);
      out.push(`      <error message="${attr(testCase.error)}" type="account_error">${text(testCase.error)}</error>`);
      out.push('    </testcase>');
    } else {
      out.push(`${open}/>`);
    }
  }
  out.push('  </testsuite>', '</testsuites>');
  return `${out.join('\n')}\n`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

export function renderPlanJunit(plans: readonly AccountPlan[], failed: readonly FailedAccount[]): string {
  const cases: TestCase[] = plans.map((plan) => {
    if (plan.actions.length === 0 && plan.blockers.length === 0) return { name: plan.account };
    const body = [
      ...plan.actions.map((action) => `${actionText(action)}: ${action.reason}`),
      ...plan.blockers.map((blocker) => `cannot apply: ${blocker}`),
    ];
    const message = plan.blockers.length > 0 ? `${count(plan.actions.length, 'change')}, blocked` : count(plan.actions.length, 'change');
    return { name: plan.account, failure: { type: 'changes', message, body } };
  });
  cases.push(...failed.map((f) => ({ name: f.account, error: f.error })));
  return renderSuite('tfa-gitops plan', 'tfa-gitops.plan', cases);
}

export function renderDriftJunit(accounts: readonly AccountDrift[]): string {
  const cases: TestCase[] = accounts.map((account) => {
    if (account.status === 'failed') return { name: account.account, error: account.error ?? 'unknown error' };
    if (account.status === 'in-sync') return { name: account.account };
    const kinds = [...new Set(account.findings.map((f) => f.kind))].join(', ');
    const body = account.findings.map((f) => `${f.kind}: ${f.reason} (${fixText(f)})`);
    return { name: account.account, failure: { type: 'drift', message: `${count(account.findings.length, 'finding')}: ${kinds}`, body } };
  });
  return renderSuite('tfa-gitops drift', 'tfa-gitops.drift', cases);
}
