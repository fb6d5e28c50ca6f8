/**
 * `tfa-gitops drift`: a read-only audit of every selected account against the manifest.
 * It reads each account's status and store record, plans it, and reports the plan's
 * differences plus methods unused for longer than `--stale-after DAYS`. It changes nothing.
 */

import { type AccountDrift, detectDrift } from '../../plan/drift.js';
import { type CliIo, styleFor } from '../io.js';
import type { GlobalOptions, OutputFormat } from '../options.js';
import { renderDriftHuman } from '../render/drift-human.js';
import { renderDriftJson } from '../render/json.js';
import { renderDriftJunit } from '../render/junit.js';
import { renderDriftMarkdown } from '../render/markdown.js';
import { type FleetFlags, makePlan, type PlanResult, printFailures } from './plan.js';

export interface DriftFlags extends FleetFlags {
  format?: OutputFormat;
  detailedExitcode?: boolean;
  staleAfter?: number;
}

/** Builds the report in manifest order, failed accounts included. */
export function driftReport(result: PlanResult, staleAfterDays: number | undefined): AccountDrift[] {
  const failedByName = new Map(result.failed.map((f) => [f.account, f.error]));
  const byName = new Map(result.observations.map((o) => [o.target.desired.name, o]));
  const report: AccountDrift[] = [];

  for (const desired of result.session.manifest.accounts) {
    const error = failedByName.get(desired.name);
    if (error !== undefined) {
      report.push({ account: desired.name, status: 'failed', findings: [], blockers: [], error });
      continue;
    }
    const observation = byName.get(desired.name);
    if (!observation?.plan || !observation.observed) continue;

    const findings = detectDrift({
      desired,
      observed: observation.observed,
      plan: observation.plan,
      serverNowSeconds: observation.serverNowSeconds ?? Date.now() / 1000,
      ...(staleAfterDays !== undefined ? { staleAfterDays } : {}),
    });
    report.push({
      account: desired.name,
      status: findings.length > 0 ? 'drifted' : 'in-sync',
      findings,
      blockers: findings.length > 0 ? observation.plan.blockers : [],
      error: null,
    });
  }
  return report;
}

function render(format: OutputFormat, report: readonly AccountDrift[], staleAfterDays: number | undefined, io: CliIo, stdoutIsTerminal: boolean): string {
  switch (format) {
    case 'json':
      return renderDriftJson(report, staleAfterDays ?? null);
    case 'markdown':
      return renderDriftMarkdown(report);
    case 'junit':
      return renderDriftJunit(report);
    case 'human':
      return renderDriftHuman(report, styleFor(io, stdoutIsTerminal));
  }
}

export async function driftCommand(flags: DriftFlags, options: GlobalOptions, io: CliIo, stdoutIsTerminal: boolean): Promise<number> {
  const result = await makePlan(flags, options, io);
  try {
    const report = driftReport(result, flags.staleAfter);
    io.stdout.write(render(flags.format ?? 'human', report, flags.staleAfter, io, stdoutIsTerminal));
    printFailures(result.failed, io);

    if (result.failed.length > 0) return 1;
    const drifted = report.some((a) => a.status === 'drifted');
    return flags.detailedExitcode && drifted ? 2 : 0;
  } finally {
    await result.session.store.close();
  }
}
