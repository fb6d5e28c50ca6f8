/** `tfa-gitops apply`: plans, asks, then changes the accounts to match the manifest. */

import { applyAccount } from '../../apply/executor.js';
import { createCodeProvider } from '../../apply/code-provider.js';
import type { CodeProvider } from '../../apply/code-provider.js';
import { TfaError } from '../../errors.js';
import { checkDeleteLimit, DEFAULT_MAX_DELETES } from '../../plan/safety.js';
import type { DesiredAccount } from '../../manifest/types.js';
import { TotpCodeSource } from '../../totp/index.js';
import { type CliIo, logLine, styleFor } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { ask } from '../prompt.js';
import { renderHuman, summarize } from '../render/human.js';
import { errorText, makePlan, PARALLELISM, type PlanFlags, printFailures } from './plan.js';
import { mapLimit } from '../session.js';

export interface ApplyFlags extends PlanFlags {
  autoApprove?: boolean;
  maxDeletes?: number;
  rotate?: string[];
}

/** Parses `--rotate ACCOUNT/LABEL` values into labels per account. */
export function parseRotate(values: readonly string[] = []): Map<string, Set<string>> {
  const byAccount = new Map<string, Set<string>>();
  for (const value of values) {
    const slash = value.indexOf('/');
    if (slash <= 0 || slash === value.length - 1) {
      throw new TfaError('invalid_rotate', `invalid --rotate value "${value}"`, { hint: 'write it as ACCOUNT/LABEL, e.g. --rotate ml-prod/ci-bot' });
    }
    const account = value.slice(0, slash);
    const labels = byAccount.get(account) ?? new Set<string>();
    labels.add(value.slice(slash + 1));
    byAccount.set(account, labels);
  }
  return byAccount;
}

export async function applyCommand(flags: ApplyFlags, options: GlobalOptions, io: CliIo, stdoutIsTerminal: boolean): Promise<number> {
  if (!flags.autoApprove && !io.interactive) {
    throw new TfaError('approval_required', 'apply needs approval, and there is no terminal to ask on', {
      hint: 'review the plan with "tfa-gitops plan", then run "tfa-gitops apply --auto-approve"',
    });
  }

  const rotate = parseRotate(flags.rotate);
  const result = await makePlan(flags, options, io, rotate);
  const { session, plans, failed } = result;
  try {
    for (const [account, labels] of rotate) {
      const desired = session.manifest.accounts.find((a) => a.name === account);
      const missing = [...labels].filter((label) => !desired?.methods.some((m) => m.label === label && m.type === 'totp'));
      if (!desired || missing.length > 0) {
        throw new TfaError('invalid_rotate', `--rotate ${account}/${missing[0] ?? ''}: no such TOTP method in the manifest`, {
          hint: 'name an account and a TOTP label that the manifest lists',
        });
      }
    }

    io.stdout.write(renderHuman(plans, styleFor(io, stdoutIsTerminal)));
    printFailures(failed, io);
    const blocked = plans.filter((p) => p.blockers.length > 0);
    if (blocked.length > 0) {
      throw new TfaError('plan_blocked', `the plan cannot be applied to ${blocked.map((p) => `"${p.account}"`).join(', ')}`, {
        hint: 'fix what each "cannot apply" line says, then run apply again',
      });
    }
    const changed = plans.filter((p) => p.actions.length > 0);
    if (changed.length === 0) return failed.length > 0 ? 1 : 0;
    checkDeleteLimit(changed, flags.maxDeletes ?? DEFAULT_MAX_DELETES);

    if (!flags.autoApprove) {
      const answer = await ask(io, '\nDo you want to perform these actions? Only "yes" will be accepted: ', false, io.signal);
      if (answer !== 'yes') {
        io.stderr.write('Apply cancelled.\n');
        return 1;
      }
    }

    const providers = new Map<string, CodeProvider>();
    const providerFor = (desired: DesiredAccount, channel: 'email' | 'sms', label?: string): CodeProvider | undefined => {
      const spec = channel === 'email' ? desired.emailCodes : desired.methods.find((m) => m.type === 'sms' && m.label === label);
      const codeSpec = spec && 'kind' in spec ? spec : spec && 'codes' in spec ? spec.codes : undefined;
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

    const codes = new TotpCodeSource();
    const targets = new Map(session.targets.map((t) => [t.desired.name, t]));
    const results = await mapLimit(changed, PARALLELISM, async (plan) => {
      const target = targets.get(plan.account);
      if (!target) throw new Error(`internal: no target for ${plan.account}`);
      return applyAccount(plan, target.desired, target.client, {
        store: session.store,
        codes,
        providerFor,
        ...(io.signal ? { signal: io.signal } : {}),
        onEvent: (event) => logLine(io, event.type === 'warning' ? 'warning' : 'apply', { account: event.account, step: event.message }),
      }, rotate.get(plan.account));
    });

    const failures = results.filter((r) => r.error);
    for (const r of failures) io.stderr.write(styleFor(io, false).red(`Error: account "${r.account}": ${errorText(r.error as Error)}\n`));
    const applied = changed.filter((p) => !failures.some((f) => f.account === p.account));
    const summary = summarize(applied);
    io.stdout.write(
      `\nApply ${failures.length === 0 ? 'complete' : 'finished with errors'}! ${summary.add} added, ${summary.change} changed, ${summary.remove} removed` +
        `${failures.length > 0 ? `; ${failures.length} account(s) failed` : ''}.\n`,
    );
    return failures.length > 0 || failed.length > 0 ? 1 : 0;
  } finally {
    await session.store.close();
  }
}
