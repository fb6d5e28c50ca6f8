/** `tfa-gitops plan`: shows what apply would change, without changing anything. */

import { randomUUID } from 'node:crypto';
import { relative, resolve } from 'node:path';
import { TfaError } from '../../errors.js';
import type { Manifest } from '../../manifest/types.js';
import { DEFAULT_MAX_DELETES } from '../../plan/safety.js';
import type { AccountPlan } from '../../plan/types.js';
import { type CliIo, styleFor } from '../io.js';
import { DEFAULT_PARALLELISM, type GlobalOptions, type OutputFormat } from '../options.js';
import { startProgress } from '../progress.js';
import { accountError, renderHuman } from '../render/human.js';
import { planDocument, renderJson } from '../render/json.js';
import { renderPlanJunit } from '../render/junit.js';
import { renderPlanMarkdown } from '../render/markdown.js';
import { desiredFingerprint, type SavedPlanInfo, savedPlanText, statusFingerprint, writePlanFile } from '../saved-plan.js';
import type { Shard } from '../selection.js';
import { errorText, type FailedAccount, manifestPaths, mapLimit, type Observation, observe, openSession, type Session } from '../session.js';

export { errorText } from '../session.js';

/** Flags that every command over many accounts takes. */
export interface FleetFlags {
  file?: string[];
  account?: string[];
  shard?: Shard;
  parallelism?: number;
  quiet?: boolean;
}

export interface PlanFlags extends FleetFlags {
  json?: boolean;
  format?: OutputFormat;
  detailedExitcode?: boolean;
  out?: string;
  rotate?: string[];
  /** Methods one account may lose before plan warns, because apply stops above this number. */
  maxDeletes?: number;
}

export interface PlanResult {
  session: Session;
  /** One per account with an API key, in manifest order; an observation carries its error. */
  observations: Observation[];
  plans: AccountPlan[];
  /** Accounts that could not be planned, in manifest order. */
  failed: FailedAccount[];
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

/** Throws when a `--rotate` value names an account or TOTP label that the manifest lacks. */
function checkRotate(manifest: Manifest, rotate: ReadonlyMap<string, ReadonlySet<string>>): void {
  for (const [account, labels] of rotate) {
    const desired = manifest.accounts.find((a) => a.name === account);
    const missing = [...labels].filter((label) => !desired?.methods.some((m) => m.label === label && m.type === 'totp'));
    if (!desired || missing.length > 0) {
      throw new TfaError('invalid_rotate', `--rotate ${account}/${missing[0] ?? ''}: no such TOTP method in the manifest`, {
        hint: 'name an account and a TOTP label that the manifest lists',
      });
    }
  }
}

/** Picks the output format; `--json` is another spelling of `--format json`. */
export function resolveFormat(flags: { json?: boolean; format?: OutputFormat }): OutputFormat {
  if (flags.json && flags.format !== undefined && flags.format !== 'json') {
    throw new TfaError('invalid_format', `--json conflicts with --format ${flags.format}`, { hint: 'pass one of them; --json is the same as --format json' });
  }
  return flags.json ? 'json' : (flags.format ?? 'human');
}

/**
 * Opens the session and plans every selected account, `parallelism` at a time. An account
 * that cannot be read fails alone; the others are planned.
 */
export async function makePlan(
  flags: FleetFlags,
  options: GlobalOptions,
  io: CliIo,
  rotate?: ReadonlyMap<string, ReadonlySet<string>>,
  only?: readonly string[],
): Promise<PlanResult> {
  const selection = { patterns: flags.account ?? [], ...(flags.shard ? { shard: flags.shard } : {}) };
  const session = await openSession(flags.file, options, io, { selection, ...(only ? { only } : {}) });
  try {
    if (rotate) checkRotate(session.manifest, rotate);
  } catch (error) {
    await session.store.close();
    throw error;
  }

  const progress = startProgress(io, 'plan', session.targets.length + session.unavailable.length, { quiet: flags.quiet === true });
  for (let i = 0; i < session.unavailable.length; i++) progress.step(true);
  let observations: Observation[];
  session.log.io = progress.io;
  try {
    // One read of the whole store, where the store can, instead of one per account. If it
    // fails, each account reads its own record and fails alone, as without readAll.
    const records = await session.store.readAll?.().catch(() => undefined);
    observations = await mapLimit(session.targets, flags.parallelism ?? DEFAULT_PARALLELISM, async (target) => {
      const observation = await observe(target, session.store, rotate?.get(target.desired.name), records);
      progress.step(observation.error !== undefined);
      return observation;
    });
  } finally {
    progress.finish();
    session.log.io = io;
  }

  const order = new Map(session.manifest.accounts.map((a, index) => [a.name, index]));
  const byOrder = (a: { account: string }, b: { account: string }) => (order.get(a.account) ?? 0) - (order.get(b.account) ?? 0);
  const plans = observations.flatMap((o) => (o.plan ? [o.plan] : []));
  const failed = [
    ...session.unavailable,
    ...observations.flatMap((o) => (o.error ? [{ account: o.target.desired.name, error: errorText(o.error) }] : [])),
  ].sort(byOrder);
  return { session, observations, plans, failed };
}

export function printFailures(failed: readonly FailedAccount[], io: CliIo): void {
  const style = styleFor(io, false);
  for (const { account, error } of failed) io.stderr.write(style.red(`Error: ${accountError(account, error)}\n`));
}

/** Writes the plan with what it was made from to `--out`; see saved-plan.ts. */
async function savePlan(result: PlanResult, flags: PlanFlags, io: CliIo, rotate: ReadonlyMap<string, ReadonlySet<string>>): Promise<string> {
  const accounts: SavedPlanInfo['accounts'] = {};
  for (const observation of result.observations) {
    if (!observation.plan || !observation.observed || !observation.stored) continue;
    const name = observation.target.desired.name;
    accounts[name] = {
      statusSha256: statusFingerprint(observation.observed),
      storeVersion: observation.stored.version,
      desiredSha256: desiredFingerprint(observation.target.desired),
      rotate: [...(rotate.get(name) ?? [])].sort(),
    };
  }
  const saved: SavedPlanInfo = {
    planId: randomUUID(),
    createdAt: new Date().toISOString(),
    manifestFiles: manifestPaths(flags.file, io).map((path) => relative(io.cwd, path) || '.'),
    accounts,
    applied: null,
  };

  const path = resolve(io.cwd, flags.out ?? '');
  await writePlanFile(path, savedPlanText(planDocument(result.plans, result.failed, saved, maxDeletes(flags))));
  return path;
}

function maxDeletes(flags: PlanFlags): number {
  return flags.maxDeletes ?? DEFAULT_MAX_DELETES;
}

function render(format: OutputFormat, result: PlanResult, flags: PlanFlags, io: CliIo, stdoutIsTerminal: boolean): string {
  switch (format) {
    case 'json':
      return renderJson(result.plans, result.failed, maxDeletes(flags));
    case 'markdown':
      return renderPlanMarkdown(result.plans, result.failed, maxDeletes(flags));
    case 'junit':
      return renderPlanJunit(result.plans, result.failed);
    case 'human':
      return renderHuman(result.plans, styleFor(io, stdoutIsTerminal), result.failed, maxDeletes(flags));
  }
}

export async function planCommand(flags: PlanFlags, options: GlobalOptions, io: CliIo, stdoutIsTerminal: boolean): Promise<number> {
  const format = resolveFormat(flags);
  const rotate = parseRotate(flags.rotate);
  const result = await makePlan(flags, options, io, rotate);
  try {
    io.stdout.write(render(format, result, flags, io, stdoutIsTerminal));
    printFailures(result.failed, io);

    if (flags.out !== undefined) {
      const path = await savePlan(result, flags, io, rotate);
      const shown = relative(io.cwd, path);
      const note = `Saved the plan to ${shown}. To apply exactly this plan, run: tfa-gitops apply ${shown}\n`;
      if (format === 'human') io.stdout.write(`\n${note}`);
      else io.stderr.write(note);
    }

    const blocked = result.plans.some((p) => p.blockers.length > 0);
    if (result.failed.length > 0 || blocked) return 1;
    const changes = result.plans.some((p) => p.actions.length > 0);
    return flags.detailedExitcode && changes ? 2 : 0;
  } finally {
    await result.session.store.close();
  }
}
