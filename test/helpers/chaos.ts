/**
 * The chaos run: many accounts on one emulator that injects faults, applied again and again
 * until a fault-free plan shows no change, then checked for lost seeds and backup codes.
 * `scripts/chaos.mjs` runs it at full size; a test runs a smaller one.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import { createFaultInjector, parseFaultSpec, type FaultCounts } from '../../src/emulator/faults.js';
import { startEmulator, type Middleware } from '../../src/emulator/index.js';
import { openStore } from '../../src/store/open.js';
import { runCli } from './cli.js';
import { createAccount } from './emulator.js';

/** The faults of the full run: 10% 503s, 5% 429s, 5% dropped after commit, 20 ms latency. */
export const CHAOS_FAULTS = '503=0.1;429=0.05:retry-after=1;drop-after-commit=0.05;latency=20ms';

/** A code provider that prints the newest outbox code for the account named in TFA_GITOPS_ACCOUNT. */
const CODE_READER = `
const account = process.env.TFA_GITOPS_ACCOUNT;
const key = process.env['KEY_' + account.replace(/-/g, '_')];
const channel = process.argv[2] ?? 'email';
const sentAfter = Number(process.env.TFA_GITOPS_SENT_AFTER ?? 0) - 1;
const answer = await fetch(new URL('/_emulator/outbox', process.env.VAST_URL), { headers: { Authorization: 'Bearer ' + key } });
const { messages } = await answer.json();
const newest = messages.filter((m) => m.channel === channel && m.sent_at >= sentAfter).at(-1);
if (!newest) { console.error('no ' + channel + ' code for ' + account); process.exit(1); }
process.stdout.write(newest.code + '\\n');
`;

export interface ChaosOptions {
  accounts: number;
  /** Fault spec; a seed in it makes the faults repeatable for the same order of requests. */
  faults: string;
  /** Applies allowed before the run counts as not converged. */
  maxApplies: number;
  parallelism: number;
  onProgress?: (line: string) => void;
}

export interface ChaosFigures {
  accounts: number;
  seed: number;
  converged: boolean;
  /** Applies run until the fault-free plan showed no change. */
  applies: number;
  /** Applies that ended with an error for at least one account. */
  failedApplies: number;
  requests: number;
  faults: FaultCounts['faults'];
  /** Live TOTP methods whose seed the store does not contain, plus accounts whose stored backup codes differ from the live ones. */
  secretsLost: number;
  /** Live TOTP methods without an active store record holding their seed. */
  methodsWithoutSeed: number;
  /** Accounts whose unused stored backup codes differ from the account's unused codes. */
  backupCodeSetsLost: number;
  /** Methods with a label the manifest does not list, or a second method under one label. */
  extraMethods: number;
  /** Wrong codes the emulator received, removed methods and email included. */
  wrongCodes: number;
  durationMs: number;
}

function accountName(index: number): string {
  return `acct-${String(index).padStart(3, '0')}`;
}

function manifestFor(names: string[]): string {
  const accounts = names
    .map(
      (name) => `  - name: ${name}
    apiKey: { env: KEY_${name.replace(/-/g, '_')} }
    emailCodes: { command: node read-code.mjs email, timeoutSeconds: 30 }
    methods:
      - { label: ci-bot, type: totp, primary: true }
    backupCodes: { minRemaining: 3 }
`,
    )
    .join('');
  return `apiVersion: tfa-gitops/v1
kind: TwoFactorManifest
store: file://.tfa-gitops/secrets.age
accounts:
${accounts}`;
}

/** Runs the chaos run and returns its figures; the emulator and the folder are removed afterwards. */
export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const started = performance.now();
  const injector = createFaultInjector(parseFaultSpec(options.faults));
  let faultsOn = true;
  // The convergence check plans without faults, so that a fault cannot hide a change.
  const switchable: Middleware = (request, route, next) => (faultsOn ? injector.middleware(request, route, next) : next());
  const emu = await startEmulator({ port: 0, middlewares: [switchable] });
  const dir = await mkdtemp(join(tmpdir(), 'tfa-gitops-chaos-'));

  try {
    const names = Array.from({ length: options.accounts }, (_, index) => accountName(index + 1));
    const env: NodeJS.ProcessEnv = { VAST_URL: emu.url };
    const accountIds = new Map<string, number>();
    for (const name of names) {
      const account = await createAccount(emu.url, `${name}@example.com`);
      env[`KEY_${name.replace(/-/g, '_')}`] = account.apiKey;
      accountIds.set(name, account.id);
    }
    await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor(names));
    await writeFile(join(dir, 'read-code.mjs'), CODE_READER);

    const parallelism = String(options.parallelism);
    let applies = 0;
    let failedApplies = 0;
    let converged = false;
    while (applies < options.maxApplies) {
      faultsOn = true;
      const apply = await runCli(['apply', '--auto-approve', '--parallelism', parallelism], { cwd: dir, env });
      applies += 1;
      if (apply.code !== 0) failedApplies += 1;

      faultsOn = false;
      const plan = await runCli(['plan', '--detailed-exitcode', '--parallelism', parallelism], { cwd: dir, env });
      const errors = apply.stderr.split('\n').filter((line) => line.startsWith('Error: account '));
      options.onProgress?.(`apply ${applies}: exit ${apply.code}, ${errors.length} account errors; fault-free plan: exit ${plan.code}`);
      for (const line of summarizeErrors(errors)) options.onProgress?.(`  ${line}`);
      if (plan.code === 0) {
        converged = true;
        break;
      }
      if (plan.code !== 2) throw new Error(`the fault-free plan failed:\n${plan.stdout}${plan.stderr}`);
    }

    const counts = injector.counts();
    const figures = await inspect(emu.snapshot(), dir, accountIds);
    return {
      accounts: options.accounts,
      seed: injector.seed,
      converged,
      applies,
      failedApplies,
      requests: counts.requests,
      faults: counts.faults,
      ...figures,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Groups account errors by their text with names and numbers blanked, most frequent first. */
function summarizeErrors(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const shape = line.replace(/"acct-\d+"/g, '"ACCOUNT"').replace(/\d+/g, 'N');
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([shape, count]) => `${count} x ${shape}`);
}

/** Compares every account with its store record. */
async function inspect(
  snapshot: ReturnType<Awaited<ReturnType<typeof startEmulator>>['snapshot']>,
  dir: string,
  accountIds: Map<string, number>,
): Promise<Pick<ChaosFigures, 'secretsLost' | 'methodsWithoutSeed' | 'backupCodeSetsLost' | 'extraMethods' | 'wrongCodes'>> {
  const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
  let methodsWithoutSeed = 0;
  let backupCodeSetsLost = 0;
  let extraMethods = 0;
  let wrongCodes = 0;

  try {
    for (const [name, id] of accountIds) {
      const account = snapshot.accounts.find((a) => a.id === id);
      if (account === undefined) throw new Error(`account ${name} is missing from the emulator`);
      const { record } = await store.read(name);

      for (const method of account.methods) {
        if (method.method !== 'totp') continue;
        const stored = record.methods.some((r) => r.methodId === method.id && r.state === 'active' && r.seed === method.secret);
        if (!stored) methodsWithoutSeed += 1;
      }

      const live = account.backup_codes.filter((c) => !c.used).map((c) => c.code).sort().join(',');
      const kept = record.backupCodes.filter((c) => !c.used).map((c) => c.code).sort().join(',');
      if (live !== kept) backupCodeSetsLost += 1;

      const labelled = account.methods.filter((m) => m.label === 'ci-bot').length;
      extraMethods += account.methods.length - Math.min(labelled, 1);

      const methods = [...account.methods, ...account.removed_methods];
      wrongCodes += methods.reduce((sum, m) => sum + m.wrong_codes_total, account.email_wrong_codes_total);
    }
  } finally {
    await store.close();
  }

  return { secretsLost: methodsWithoutSeed + backupCodeSetsLost, methodsWithoutSeed, backupCodeSetsLost, extraMethods, wrongCodes };
}
