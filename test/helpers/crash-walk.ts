/**
 * The crash walk: for an operation (an apply from a prepared account), kill the CLI with
 * SIGKILL at every API-call boundary, once before the server acts and once after it
 * committed, then rerun apply and check that nothing was lost.
 */

import assert from 'node:assert/strict';
import { copyFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startEmulator, type EmulatorSnapshot, type RunningEmulator } from '../../src/emulator/index.js';
import type { AccountRecord } from '../../src/store/types.js';
import { runCli } from './cli.js';
import { BoundaryGate, type ChildResult, type KillPoint, readStoreRecord, spawnCli } from './crash.js';
import { createAccount } from './emulator.js';
import { makeWorkspace } from './workspace.js';

/**
 * Virtual time between two runs, in milliseconds: past the 15-minute lock a killed run leaves,
 * and so in a later TOTP step than any code already sent.
 */
export const RUN_GAP_MS = 16 * 60 * 1000;

type LiveAccount = EmulatorSnapshot['accounts'][number];

export interface Operation {
  name: string;
  /** The manifest the setup applies first; omit to start from an account with no method. */
  setupManifest?: string;
  /** Changes the account through the API after the setup, e.g. spends backup codes. */
  afterSetup?: (emu: RunningEmulator, apiKey: string) => Promise<void>;
  /** The manifest the operation applies. */
  manifest: string;
  /** The operation's CLI arguments; the rerun is always a plain `apply --auto-approve`. */
  args: string[];
  /** Labels the manifest lists. */
  labels: string[];
}

/** A prepared account: its emulator state file and workspace, copied for every run. */
interface Base {
  root: string;
  statePath: string;
  dir: string;
  apiKey: string;
  accountId: number;
  /** Virtual clock of the next run, in milliseconds ahead of the real one. */
  clockMs: number;
  /** Ids of the methods the account had before the operation. */
  methodIds: Set<number>;
}

export interface WalkResult {
  /** Boundaries killed: API calls times the two kill points. */
  boundaries: number;
  /** API calls of the operation when nothing kills it. */
  calls: number;
  /** Wrong codes the emulator counted across every run. */
  wrongCodes: number;
}

function envFor(url: string, apiKey: string): NodeJS.ProcessEnv {
  return { VAST_URL: url, TEST_API_KEY: apiKey };
}

function describeResult(result: ChildResult): string {
  return `exit ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function liveAccount(emu: RunningEmulator, accountId: number): LiveAccount {
  const account = emu.snapshot().accounts.find((a) => a.id === accountId);
  assert.ok(account !== undefined, `account ${accountId} is in the emulator state`);
  return account;
}

/** Counts the wrong codes the emulator received for the account, removed methods included. */
export function wrongCodes(account: LiveAccount): number {
  const methods = [...account.methods, ...account.removed_methods];
  return methods.reduce((sum, method) => sum + method.wrong_codes_total, account.email_wrong_codes_total);
}

/** Names where wrong codes went, for a failure message. */
function describeWrongCodes(account: LiveAccount): string {
  const methods = [...account.methods, ...account.removed_methods].filter((m) => m.wrong_codes_total > 0);
  const parts = methods.map((m) => `#${m.id} "${m.label}" ${m.wrong_codes_total}`);
  if (account.email_wrong_codes_total > 0) parts.push(`email ${account.email_wrong_codes_total}`);
  return parts.join(', ');
}

/**
 * Checks what a converged account must satisfy: every live TOTP method has its seed in the
 * store, the store contains exactly the account's unused backup codes, each label of the
 * manifest has at most one method, and every other method was there before.
 */
export function checkInvariants(
  account: LiveAccount,
  record: AccountRecord,
  labels: readonly string[],
  before: ReadonlySet<number>,
  context: string,
  nowSeconds: number,
): void {
  for (const method of account.methods) {
    if (method.method !== 'totp') continue;
    const stored = record.methods.find((r) => r.methodId === method.id && r.state === 'active');
    assert.ok(stored !== undefined, `${context}: TOTP method #${method.id} "${method.label}" has no active record in the store`);
    assert.equal(stored.seed, method.secret, `${context}: the stored seed of #${method.id} is not its seed`);
  }

  const liveCodes = account.backup_codes.filter((c) => !c.used).map((c) => c.code).sort();
  const storedCodes = record.backupCodes.filter((c) => !c.used).map((c) => c.code).sort();
  assert.deepEqual(storedCodes, liveCodes, `${context}: the store's unused backup codes differ from the account's`);

  for (const label of labels) {
    const holders = account.methods.filter((m) => m.label === label);
    assert.ok(holders.length <= 1, `${context}: ${holders.length} methods are labelled "${label}"`);
  }
  for (const method of account.methods) {
    const listed = method.label !== null && labels.includes(method.label);
    assert.ok(listed || before.has(method.id), `${context}: method #${method.id} "${method.label}" is neither in the manifest nor older than the run`);
  }
  if (record.lock !== undefined) {
    assert.ok(Date.parse(record.lock.expiresAt) <= nowSeconds * 1000, `${context}: a lock that has not expired is left (${JSON.stringify(record.lock)})`);
  }
}

/** Starts an emulator on a copy of the base state, with the virtual clock at `clockMs`. */
async function startFromBase(base: Base, runDir: string, gate: BoundaryGate, clockMs: number): Promise<{ emu: RunningEmulator; dir: string }> {
  const statePath = join(runDir, 'state.json');
  const dir = join(runDir, 'workspace');
  await copyFile(base.statePath, statePath);
  await cp(base.dir, dir, { recursive: true });

  const emu = await startEmulator({ port: 0, statePath, middlewares: [gate.middleware] });
  emu.setClockOffset(clockMs / 1000);
  return { emu, dir };
}

/** Runs one child to the end at virtual time `clockMs`, with the emulator's clock moved to match. */
async function runChild(emu: RunningEmulator, dir: string, base: Base, args: string[], clockMs: number): Promise<ChildResult> {
  emu.setClockOffset(clockMs / 1000);
  return spawnCli(args, { cwd: dir, env: envFor(emu.url, base.apiKey), clockOffsetMs: clockMs }).exited;
}

/** Prepares the account the operation starts from, and saves its state and workspace. */
async function prepare(operation: Operation): Promise<Base> {
  const root = await mkdtemp(join(tmpdir(), 'tfa-gitops-crash-'));
  const statePath = join(root, 'base-state.json');
  const emu = await startEmulator({ port: 0, statePath });
  try {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(operation.setupManifest ?? operation.manifest);
    const base: Base = { root, statePath, dir, apiKey: account.apiKey, accountId: account.id, clockMs: 0, methodIds: new Set() };

    if (operation.setupManifest !== undefined) {
      const setup = await runChild(emu, dir, base, ['apply', '--auto-approve'], base.clockMs);
      assert.equal(setup.code, 0, `setup of ${operation.name}: ${describeResult(setup)}`);
      base.clockMs += RUN_GAP_MS;
    }
    await operation.afterSetup?.(emu, account.apiKey);
    await writeFile(join(dir, 'tfa-gitops.yaml'), operation.manifest);

    emu.setClockOffset(base.clockMs / 1000);
    base.methodIds = new Set(liveAccount(emu, account.id).methods.map((m) => m.id));
    return base;
  } finally {
    await emu.close();
  }
}

/** Checks that a plain plan of the workspace shows no change. */
async function assertConverged(emu: RunningEmulator, dir: string, base: Base, context: string): Promise<void> {
  const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: dir, env: envFor(emu.url, base.apiKey) });
  assert.equal(plan.code, 0, `${context}: plan after the rerun shows changes\n${plan.stdout}${plan.stderr}`);
}

/** Runs the operation with no kill and returns how many API calls it makes. */
async function referenceRun(operation: Operation, base: Base): Promise<{ calls: number; wrongCodes: number }> {
  const runDir = await mkdtemp(join(base.root, 'reference-'));
  const gate = new BoundaryGate();
  const { emu, dir } = await startFromBase(base, runDir, gate, base.clockMs);
  try {
    const result = await runChild(emu, dir, base, operation.args, base.clockMs);
    assert.equal(result.code, 0, `${operation.name} without a kill: ${describeResult(result)}`);
    const calls = gate.requests;

    await assertConverged(emu, dir, base, `${operation.name} without a kill`);
    const account = liveAccount(emu, base.accountId);
    checkInvariants(account, await readStoreRecord(dir), operation.labels, base.methodIds, `${operation.name} without a kill`, emu.snapshot().now);
    return { calls, wrongCodes: wrongCodes(account) };
  } finally {
    await emu.close();
    await rm(runDir, { recursive: true, force: true });
  }
}

/** Kills the operation at request `index` and `point`, reruns apply, and checks the invariants. */
async function killAndRerun(operation: Operation, base: Base, index: number, point: KillPoint): Promise<number> {
  const context = `${operation.name}, killed ${point === 'before' ? 'before' : 'after the server committed'} call ${index}`;
  const runDir = await mkdtemp(join(base.root, `kill-${index}-${point}-`));
  const gate = new BoundaryGate();
  gate.arm(index, point);
  const { emu, dir } = await startFromBase(base, runDir, gate, base.clockMs);
  try {
    emu.setClockOffset(base.clockMs / 1000);
    const child = spawnCli(operation.args, { cwd: dir, env: envFor(emu.url, base.apiKey), clockOffsetMs: base.clockMs });
    const early = await Promise.race([gate.reached.then(() => undefined), child.exited]);
    assert.equal(early, undefined, `${context}: the run ended before call ${index}: ${early === undefined ? '' : describeResult(early)}`);
    await child.kill();
    gate.release();

    const leftLock = (await readStoreRecord(dir)).lock;
    const rerunClock = base.clockMs + RUN_GAP_MS;
    const rerun = await runChild(emu, dir, base, ['apply', '--auto-approve'], rerunClock);
    assert.equal(rerun.code, 0, `${context}: the rerun failed: ${describeResult(rerun)}`);
    // A rerun with nothing to change takes no lock, so only one that applied reports the old lock.
    const applied = /Apply complete!/.test(rerun.stdout);
    if (leftLock !== undefined && applied) {
      assert.match(rerun.stderr, new RegExp(`took over an expired lock \\(pid ${leftLock.pid} on `), `${context}: the expired lock was not reported`);
    }

    await assertConverged(emu, dir, base, context);
    const account = liveAccount(emu, base.accountId);
    checkInvariants(account, await readStoreRecord(dir), operation.labels, base.methodIds, context, emu.snapshot().now);
    const wrong = wrongCodes(account);
    assert.equal(wrong, 0, `${context}: wrong codes were sent (${describeWrongCodes(account)})\n--- rerun stderr\n${rerun.stderr}`);
    return wrong;
  } finally {
    await emu.close();
    await rm(runDir, { recursive: true, force: true });
  }
}

/** Walks every boundary of `operation`, both kill points, and returns the figures. */
export async function walkOperation(operation: Operation): Promise<WalkResult> {
  const base = await prepare(operation);
  try {
    const reference = await referenceRun(operation, base);
    let wrong = reference.wrongCodes;
    for (let index = 1; index <= reference.calls; index += 1) {
      for (const point of ['before', 'after'] as const) {
        wrong += await killAndRerun(operation, base, index, point);
      }
    }
    return { boundaries: reference.calls * 2, calls: reference.calls, wrongCodes: wrong };
  } finally {
    await rm(base.root, { recursive: true, force: true });
    await rm(base.dir, { recursive: true, force: true });
  }
}
