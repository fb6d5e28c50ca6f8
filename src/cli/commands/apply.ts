/**
 * `tfa-gitops apply`: plans, asks, then changes the accounts to match the manifest.
 * `tfa-gitops apply FILE` applies a plan saved by `plan --out` instead (apply-saved.ts).
 */

import { TfaError } from '../../errors.js';
import { checkDeleteLimit, DEFAULT_MAX_DELETES } from '../../plan/safety.js';
import { requireWritable } from '../../store/errors.js';
import { executePlans, reportApply, splitBlocked } from '../execute.js';
import { type CliIo, styleFor } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { ask } from '../prompt.js';
import { renderHuman } from '../render/human.js';
import { applySavedPlan } from './apply-saved.js';
import type { StatusBasis } from '../../apply/executor.js';
import type { Observation } from '../session.js';
import { makePlan, parseRotate, type PlanFlags, printFailures } from './plan.js';

export { parseRotate } from './plan.js';

export interface ApplyFlags extends PlanFlags {
  autoApprove?: boolean;
  maxDeletes?: number;
}

export async function applyCommand(
  planFile: string | undefined,
  flags: ApplyFlags,
  options: GlobalOptions,
  io: CliIo,
  stdoutIsTerminal: boolean,
): Promise<number> {
  if (planFile !== undefined) return applySavedPlan(planFile, flags, options, io, stdoutIsTerminal);

  if (!flags.autoApprove && !io.interactive) {
    throw new TfaError('approval_required', 'apply needs approval, and there is no terminal to ask on', {
      hint: 'review the plan with "tfa-gitops plan", then run "tfa-gitops apply --auto-approve", or apply a saved plan with "tfa-gitops apply FILE"',
    });
  }

  const rotate = parseRotate(flags.rotate);
  const plannedAtMs = Date.now();
  const { session, observations, plans, failed } = await makePlan(flags, options, io, rotate);
  try {
    io.stdout.write(renderHuman(plans, styleFor(io, stdoutIsTerminal), failed));
    printFailures(failed, io);

    const { runnable, blocked } = splitBlocked(plans);
    printFailures(blocked, io);
    const changed = runnable.filter((p) => p.actions.length > 0);
    if (changed.length === 0) return failed.length > 0 || blocked.length > 0 ? 1 : 0;
    checkDeleteLimit(changed, flags.maxDeletes ?? DEFAULT_MAX_DELETES);
    requireWritable(session.store, changed.map((p) => p.account));

    if (!flags.autoApprove) {
      const answer = await ask(io, '\nDo you want to perform these actions? Only "yes" will be accepted: ', false, io.signal);
      if (answer !== 'yes') {
        io.stderr.write('Apply cancelled.\n');
        return 1;
      }
    }

    const results = await executePlans(session, changed, io, {
      ...(flags.parallelism !== undefined ? { parallelism: flags.parallelism } : {}),
      quiet: flags.quiet === true,
      rotate: (account) => rotate.get(account),
      basis: statusBasis(observations, plannedAtMs),
    });
    return reportApply(io, changed, results, [...failed, ...blocked]);
  } finally {
    await session.store.close();
  }
}

/** Returns each account's status read by the plan above, for the executor to reuse. */
function statusBasis(observations: readonly Observation[], readAtMs: number): (account: string) => StatusBasis | undefined {
  const byAccount = new Map<string, StatusBasis>();
  for (const { target, observed, stored } of observations) {
    if (observed && stored) byAccount.set(target.desired.name, { observed, storeVersion: stored.version, readAtMs });
  }
  return (account) => byAccount.get(account);
}
