/**
 * `tfa-gitops apply FILE`: applies a plan saved by `plan --out`. The saved plan is the
 * approval, so no `--auto-approve` is needed, as in Terraform. Before anything changes, every
 * account is read again and the whole plan is refused if an account's live status, store
 * record or manifest entry differs from what the plan was made from. The file is then marked
 * as applied, so it never applies twice.
 */

import { relative, resolve } from 'node:path';
import { TfaError } from '../../errors.js';
import { checkDeleteLimit, DEFAULT_MAX_DELETES } from '../../plan/safety.js';
import { requireWritable } from '../../store/errors.js';
import type { AccountPlan } from '../../plan/types.js';
import { executePlans, reportApply, splitBlocked } from '../execute.js';
import { type CliIo, logLine, styleFor } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { renderHuman } from '../render/human.js';
import { compareBasis, PlanFileError, readPlanFile, type SavedPlan, savedPlanText, writePlanFile } from '../saved-plan.js';
import type { ApplyFlags } from './apply.js';
import { makePlan, printFailures } from './plan.js';

const REPLAN_HINT = 'run "tfa-gitops plan --out FILE" again, review the new plan, then apply that file';

async function markApplied(saved: SavedPlan, finished: boolean): Promise<void> {
  const info = saved.document.saved;
  const startedAt = info.applied?.startedAt ?? new Date().toISOString();
  info.applied = { startedAt, finishedAt: finished ? new Date().toISOString() : null };
  await writePlanFile(saved.path, savedPlanText(saved.document));
}

export async function applySavedPlan(file: string, flags: ApplyFlags, options: GlobalOptions, io: CliIo, stdoutIsTerminal: boolean): Promise<number> {
  const fixed = [flags.account?.length ? '--account' : '', flags.shard ? '--shard' : '', flags.rotate?.length ? '--rotate' : ''].filter(Boolean);
  if (fixed.length > 0) {
    throw new TfaError('plan_file_flags', `${fixed.join(' and ')} cannot be used with a plan file`, {
      hint: 'the plan file already fixes its accounts and rotations; pass these flags to "tfa-gitops plan --out FILE" instead',
    });
  }

  const shown = relative(io.cwd, resolve(io.cwd, file)) || file;
  const saved = await readPlanFile(resolve(io.cwd, file));
  const info = saved.document.saved;
  if (info.applied !== null) {
    throw new PlanFileError('plan_file_applied', `the plan file ${shown} was already applied (started ${info.applied.startedAt}); a saved plan applies once`, {
      hint: REPLAN_HINT,
    });
  }
  if (saved.document.failed.length > 0) {
    const names = saved.document.failed.map((f) => f.account).join(', ');
    logLine(io, 'warning', { message: `the plan file leaves out accounts that failed when it was made: ${names}` });
  }

  const planned = saved.document.accounts;
  const rotate = new Map(planned.map((p) => [p.account, new Set(info.accounts[p.account]?.rotate ?? [])]));
  const files = flags.file && flags.file.length > 0 ? flags.file : info.manifestFiles;
  const names = planned.map((p) => p.account);
  const { session, observations, failed } = await makePlan({ ...flags, file: files }, options, io, undefined, names);
  try {
    const stale = staleAccounts(planned, observations, session.manifest.accounts.map((a) => a.name), info);
    if (stale.length > 0) {
      throw new PlanFileError('plan_file_stale', `the plan file ${shown} no longer matches: ${stale.join('; ')}`, { hint: REPLAN_HINT });
    }

    const readable = planned.filter((p) => !failed.some((f) => f.account === p.account));
    io.stdout.write(renderHuman(readable, styleFor(io, stdoutIsTerminal), failed));
    printFailures(failed, io);

    const { runnable, blocked } = splitBlocked(readable);
    printFailures(blocked, io);
    const changed = runnable.filter((p) => p.actions.length > 0);
    checkDeleteLimit(changed, flags.maxDeletes ?? DEFAULT_MAX_DELETES);
    requireWritable(session.store, changed.map((p) => p.account));

    // Marked before the first change: a run killed halfway must not leave a file that applies again.
    await markApplied(saved, false);
    const results = await executePlans(session, changed, io, {
      ...(flags.parallelism !== undefined ? { parallelism: flags.parallelism } : {}),
      quiet: flags.quiet === true,
      rotate: (account) => rotate.get(account),
    });
    // The file is already marked as started, so a failure to record the end changes nothing.
    await markApplied(saved, true).catch((error: Error) => logLine(io, 'warning', { message: `cannot record the end of the apply: ${error.message}` }));
    return reportApply(io, changed, results, [...failed, ...blocked]);
  } finally {
    await session.store.close();
  }
}

/** Names every planned account that is gone from the manifest or differs from its basis. */
function staleAccounts(
  planned: readonly AccountPlan[],
  observations: Awaited<ReturnType<typeof makePlan>>['observations'],
  manifestNames: readonly string[],
  info: SavedPlan['document']['saved'],
): string[] {
  const stale: string[] = [];
  for (const plan of planned) {
    const basis = info.accounts[plan.account];
    if (!manifestNames.includes(plan.account)) {
      stale.push(`account "${plan.account}" is no longer in the manifest`);
      continue;
    }
    const observation = observations.find((o) => o.target.desired.name === plan.account);
    // An account that cannot be read fails alone later; it is not a reason to refuse the others.
    if (!basis || !observation?.observed || !observation.stored) continue;

    const changes = compareBasis(basis, { status: observation.observed, storeVersion: observation.stored.version, desired: observation.target.desired });
    if (changes.length > 0) stale.push(`account "${plan.account}": ${changes.join(', ')}`);
  }
  return stale;
}
