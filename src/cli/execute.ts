/**
 * Running approved plans: the executor over every changed account, `parallelism` at a time,
 * with code providers made once per account and channel, progress on stderr, and a summary
 * on stdout that names each failed account and why.
 */

import { createCodeProvider } from '../apply/code-provider.js';
import type { CodeProvider } from '../apply/code-provider.js';
import { type AccountResult, applyAccount, type StatusBasis } from '../apply/executor.js';
import type { CodeProviderSpec, DesiredAccount } from '../manifest/types.js';
import type { AccountPlan } from '../plan/types.js';
import { TotpCodeSource } from '../totp/index.js';
import { type CliIo, logLine, styleFor } from './io.js';
import { DEFAULT_PARALLELISM } from './options.js';
import { startProgress } from './progress.js';
import { ask } from './prompt.js';
import { accountError, failureItem, summarize } from './render/human.js';
import { errorText, type FailedAccount, mapLimit, type Session } from './session.js';

export interface ExecuteOptions {
  parallelism?: number;
  quiet?: boolean;
  /** Labels to rotate per account, as the plans were made with. */
  rotate: (account: string) => ReadonlySet<string> | undefined;
  /** The status read each plan was made from in this run, which the executor may reuse. */
  basis?: (account: string) => StatusBasis | undefined;
}

function providerCache(io: CliIo): (desired: DesiredAccount, channel: 'email' | 'sms', label?: string) => CodeProvider | undefined {
  const providers = new Map<string, CodeProvider>();
  return (desired, channel, label) => {
    const spec = channel === 'email' ? desired.emailCodes : desired.methods.find((m) => m.type === 'sms' && m.label === label);
    let codeSpec: CodeProviderSpec | undefined;
    if (spec && 'kind' in spec) codeSpec = spec;
    else if (spec && 'codes' in spec) codeSpec = spec.codes;
    if (!codeSpec) return undefined;

    const key = `${desired.name}\u0000${channel}\u0000${label ?? ''}`;
    let provider = providers.get(key);
    if (!provider) {
      provider = createCodeProvider(codeSpec, {
        baseDir: desired.baseDir,
        env: io.env,
        ...(io.interactive ? { prompt: (question: string, signal?: AbortSignal) => ask(io, question, true, signal) } : {}),
      });
      providers.set(key, provider);
    }
    return provider;
  };
}

/** Applies each plan to its account; one account's error is in its result and stops no other. */
export async function executePlans(session: Session, plans: readonly AccountPlan[], io: CliIo, options: ExecuteOptions): Promise<AccountResult[]> {
  const providerFor = providerCache(io);
  const codes = new TotpCodeSource();
  const targets = new Map(session.targets.map((t) => [t.desired.name, t]));
  const progress = startProgress(io, 'apply', plans.length, { quiet: options.quiet === true });
  const runIo = progress.io;
  session.log.io = runIo;

  try {
    return await mapLimit(plans, options.parallelism ?? DEFAULT_PARALLELISM, async (plan) => {
      const target = targets.get(plan.account);
      if (!target) throw new Error(`internal: no target for ${plan.account}`);
      const result = await applyAccount(
        plan,
        target.desired,
        target.client,
        {
          store: session.store,
          codes,
          providerFor,
          ...(io.signal ? { signal: io.signal } : {}),
          onEvent: (event) => logLine(runIo, event.type === 'warning' ? 'warning' : 'apply', { account: event.account, step: event.message }),
        },
        options.rotate(plan.account),
        options.basis?.(plan.account),
      );
      progress.step(result.error !== undefined);
      return result;
    });
  } finally {
    progress.finish();
    session.log.io = io;
  }
}

/**
 * Prints each failure to stderr and the summary to stdout: what was added, changed and
 * removed, then every account that failed with the reason. Returns the exit code.
 */
export function reportApply(io: CliIo, applied: readonly AccountPlan[], results: readonly AccountResult[], failedBefore: readonly FailedAccount[]): number {
  const style = styleFor(io, false);
  const failures: FailedAccount[] = [
    ...failedBefore,
    ...results.flatMap((r) => (r.error ? [{ account: r.account, error: errorText(r.error) }] : [])),
  ];
  for (const r of results) {
    if (r.error) io.stderr.write(style.red(`Error: ${accountError(r.account, errorText(r.error))}\n`));
  }

  const succeeded = applied.filter((p) => !results.some((r) => r.account === p.account && r.error));
  const summary = summarize(succeeded);
  io.stdout.write(
    `\nApply ${failures.length === 0 ? 'complete' : 'finished with errors'}! ${summary.add} added, ${summary.change} changed, ${summary.remove} removed` +
      `${failures.length > 0 ? `; ${failures.length} account(s) failed` : ''}.\n`,
  );
  if (failures.length > 0) {
    io.stdout.write(`Failed accounts:\n${failures.map(failureItem).join('\n')}\n`);
  }
  return failures.length > 0 ? 1 : 0;
}

/** Turns plans that cannot be applied into failures, so the other accounts still go ahead. */
export function splitBlocked(plans: readonly AccountPlan[]): { runnable: AccountPlan[]; blocked: FailedAccount[] } {
  const runnable = plans.filter((p) => p.blockers.length === 0);
  const blocked = plans
    .filter((p) => p.blockers.length > 0)
    .map((p) => ({ account: p.account, error: `the plan cannot be applied: ${p.blockers.join('; ')}` }));
  return { runnable, blocked };
}
