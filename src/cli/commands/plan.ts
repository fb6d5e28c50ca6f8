/** `tfa-gitops plan`: shows what apply would change, without changing anything. */

import { TfaError } from '../../errors.js';
import type { AccountPlan } from '../../plan/types.js';
import { type CliIo, styleFor } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { renderHuman } from '../render/human.js';
import { type FailedAccount, renderJson } from '../render/json.js';
import { mapLimit, type Observation, observe, openSession, type Session } from '../session.js';

export interface PlanFlags {
  file?: string[];
  json?: boolean;
  detailedExitcode?: boolean;
}

export const PARALLELISM = 8;

export interface PlanResult {
  session: Session;
  observations: Observation[];
  plans: AccountPlan[];
  failed: FailedAccount[];
}

/** Formats an account's error as its message, with the hint on a second, indented line. */
export function errorText(error: Error): string {
  return error instanceof TfaError && error.hint ? `${error.message}\n  ${error.hint}` : error.message;
}

export async function makePlan(flags: PlanFlags, options: GlobalOptions, io: CliIo, rotate?: Map<string, Set<string>>): Promise<PlanResult> {
  const session = await openSession(flags.file, options, io);
  const observations = await mapLimit(session.targets, PARALLELISM, (target) =>
    observe(target, session.store, rotate?.get(target.desired.name)),
  );
  const plans = observations.flatMap((o) => (o.plan ? [o.plan] : []));
  const failed = observations.flatMap((o) => (o.error ? [{ account: o.target.desired.name, error: errorText(o.error) }] : []));
  return { session, observations, plans, failed };
}

export function printFailures(failed: readonly FailedAccount[], io: CliIo): void {
  const style = styleFor(io, false);
  for (const { account, error } of failed) io.stderr.write(style.red(`Error: account "${account}": ${error}\n`));
}

export async function planCommand(flags: PlanFlags, options: GlobalOptions, io: CliIo, stdoutIsTerminal: boolean): Promise<number> {
  const result = await makePlan(flags, options, io);
  try {
    if (flags.json) io.stdout.write(renderJson(result.plans, result.failed));
    else io.stdout.write(renderHuman(result.plans, styleFor(io, stdoutIsTerminal)));
    printFailures(result.failed, io);

    const blocked = result.plans.some((p) => p.blockers.length > 0);
    if (result.failed.length > 0 || blocked) return 1;
    const changes = result.plans.some((p) => p.actions.length > 0);
    return flags.detailedExitcode && changes ? 2 : 0;
  } finally {
    await result.session.store.close();
  }
}
