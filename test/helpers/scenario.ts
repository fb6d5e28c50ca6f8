/**
 * Scenario tests: an emulated account, a workspace with a manifest, the CLI run in-process,
 * and the invariants every scenario must leave true.
 */

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { openStore } from '../../src/store/open.js';
import type { AccountRecord } from '../../src/store/types.js';
import { runCli, type CliResult } from './cli.js';
import { createAccount, readState } from './emulator.js';
import { makeWorkspace, manifestFor } from './workspace.js';

export interface Scenario {
  emu: RunningEmulator;
  accountId: number;
  apiKey: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliResult>;
  setManifest(methods: string, extra?: string): Promise<void>;
  live(): Promise<any>;
  record(): Promise<AccountRecord>;
  writeRecord(change: (record: AccountRecord) => void): Promise<void>;
}

export async function startScenario(emu: RunningEmulator, methods: string, extra = ''): Promise<Scenario> {
  const account = await createAccount(emu.url);
  const dir = await makeWorkspace(manifestFor(methods, extra));
  const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
  const storeUrl = pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href;

  const scenario: Scenario = {
    emu,
    accountId: account.id,
    apiKey: account.apiKey,
    dir,
    env,
    cli: (args, extraEnv = {}) => runCli(args, { cwd: dir, env: { ...env, ...extraEnv } }),
    setManifest: (next, nextExtra = '') => writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor(next, nextExtra)),
    live: async () => (await readState(emu.url)).accounts.find((a: { id: number }) => a.id === account.id),
    record: async () => {
      const store = await openStore(storeUrl, { env: {} });
      try {
        return (await store.read('acct')).record;
      } finally {
        await store.close();
      }
    },
    writeRecord: async (change) => {
      const store = await openStore(storeUrl, { env: {} });
      try {
        const current = await store.read('acct');
        change(current.record);
        await store.write('acct', current.record, current.version);
      } finally {
        await store.close();
      }
    },
  };
  return scenario;
}

/** Applies with auto-approve and asserts success, returning the result for more checks. */
export async function applyOk(scenario: Scenario, args: string[] = []): Promise<CliResult> {
  const result = await scenario.cli(['apply', '--auto-approve', ...args]);
  assert.equal(result.code, 0, `apply failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Asserts the plan is empty, with the output in the message when it is not. */
export async function assertConverged(scenario: Scenario): Promise<void> {
  const plan = await scenario.cli(['plan', '--detailed-exitcode']);
  assert.equal(plan.code, 0, `plan is not empty:\n${plan.stdout}\n${plan.stderr}`);
}

/**
 * Checks what no scenario may break: every live TOTP method has its seed in the store, the
 * store holds exactly the account's unused backup codes, and no method got a third wrong code.
 */
export async function assertInvariants(scenario: Scenario): Promise<void> {
  const live = await scenario.live();
  const record = await scenario.record();

  for (const method of live.methods.filter((m: { method: string }) => m.method === 'totp')) {
    const stored = record.methods.find((r) => r.methodId === method.id && r.state !== 'pending');
    assert.ok(stored, `TOTP method #${method.id} "${method.label}" has no seed in the store`);
    assert.equal(stored.seed, method.secret, `the stored seed of #${method.id} is not the live one`);
  }

  const liveUnused = live.backup_codes.filter((c: { used: boolean }) => !c.used).map((c: { code: string }) => c.code).sort();
  const storedUnused = record.backupCodes.filter((c) => !c.used).map((c) => c.code).sort();
  assert.deepEqual(storedUnused, liveUnused, 'the store does not hold the account\'s unused backup codes');

  for (const method of [...live.methods, ...live.removed_methods]) {
    assert.ok(method.wrong_codes_total <= 2, `method #${method.id} received ${method.wrong_codes_total} wrong codes`);
  }
}
