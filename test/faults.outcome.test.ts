import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { createFaultInjector, parseFaultSpec } from '../src/emulator/faults.js';
import type { RunningEmulator } from '../src/emulator/index.js';
import { runCli } from './helpers/cli.js';
import { type ChildResult, readStoreRecord, spawnCli } from './helpers/crash.js';
import { checkInvariants, RUN_GAP_MS } from './helpers/crash-walk.js';
import { callApi, createAccount, withEmulator } from './helpers/emulator.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';
const SECOND = '      - { label: second, type: totp }';

/**
 * An account on an emulator that drops the connection after committing every call to
 * `endpoint` once `armed` is set, with helpers to run the CLI at a virtual time.
 */
async function withDroppedAnswers(endpoint: string, fn: (context: {
  emu: RunningEmulator;
  dir: string;
  accountId: number;
  /** Turns the fault on or off; it starts off. */
  setArmed: (armed: boolean) => void;
  runAt: (clockMs: number, args?: string[]) => Promise<ChildResult>;
}) => Promise<void>): Promise<void> {
  const injector = createFaultInjector(parseFaultSpec(`seed=1;drop-after-commit=1@${endpoint}`));
  let armed = false;
  await withEmulator(
    async (emu) => {
      const account = await createAccount(emu.url);
      const dir = await makeWorkspace(manifestFor(CI_BOT));
      const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
      const runAt = (clockMs: number, args = ['apply', '--auto-approve']): Promise<ChildResult> => {
        emu.setClockOffset(clockMs / 1000);
        return spawnCli(args, { cwd: dir, env, clockOffsetMs: clockMs }).exited;
      };
      await fn({ emu, dir, accountId: account.id, setArmed: (value) => (armed = value), runAt });
      assert.ok(injector.counts().faults['drop-after-commit'] >= 1, 'the fault was injected');
    },
    { middlewares: [(request, route, next) => (armed ? injector.middleware(request, route, next) : next())] },
  );
}

/** Checks that a plain plan shows no change and that nothing was lost. */
async function assertSettled(emu: RunningEmulator, dir: string, accountId: number, labels: string[], before: Set<number>): Promise<void> {
  const account = emu.snapshot().accounts.find((a) => a.id === accountId);
  assert.ok(account !== undefined);
  const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: dir, env: { VAST_URL: emu.url, TEST_API_KEY: account.api_key } });
  assert.equal(plan.code, 0, plan.stdout + plan.stderr);
  checkInvariants(account, await readStoreRecord(dir), labels, before, 'after the lost answer', emu.snapshot().now);
}

describe('lost answers of state-changing calls', () => {
  test('first confirm-new: codes regenerated', async () => {
    await withDroppedAnswers('confirm-new', async ({ emu, dir, accountId, setArmed, runAt }) => {
      // Email first: the new seed sent its code for confirm-new, so verifying the
      // regeneration with it would wait up to 30 s for the next TOTP step.
      await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor(CI_BOT, '    verifyWith: [email, totp]\n'));
      setArmed(true);
      const apply = await runAt(0);

      assert.equal(apply.code, 0, apply.stderr);
      assert.match(apply.stderr, /confirm-new for \\?"ci-bot\\?" succeeded but its answer was lost/);
      assert.match(apply.stderr, /backup codes of the first method were lost with its answer: regenerating them/);
      assert.match(apply.stderr, /stored 10 new backup codes/);
      const live = emu.snapshot().accounts.find((a) => a.id === accountId);
      assert.equal(live?.methods.length, 1, 'no second method was enrolled');
      await assertSettled(emu, dir, accountId, ['ci-bot'], new Set());
    });
  });

  test('second confirm-new: found by label and id', async () => {
    await withDroppedAnswers('confirm-new', async ({ emu, dir, accountId, setArmed, runAt }) => {
      assert.equal((await runAt(0)).code, 0);
      await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor(`${CI_BOT}\n${SECOND}`));
      const before = new Set(emu.snapshot().accounts[0]?.methods.map((m) => m.id));

      setArmed(true);
      const apply = await runAt(RUN_GAP_MS);

      assert.equal(apply.code, 0, apply.stderr);
      assert.match(apply.stderr, /confirm-new for \\?"second\\?" succeeded but its answer was lost/);
      const live = emu.snapshot().accounts.find((a) => a.id === accountId);
      const second = live?.methods.find((m) => m.label === 'second');
      assert.ok(second !== undefined);
      assert.equal(live?.methods.length, 2);
      const record = (await readStoreRecord(dir)).methods.find((r) => r.label === 'second');
      assert.equal(record?.methodId, second.id);
      assert.equal(record?.state, 'active');
      await assertSettled(emu, dir, accountId, ['ci-bot', 'second'], before);
    });
  });

  test('delete: status read settles it', async () => {
    await withDroppedAnswers('delete', async ({ emu, dir, accountId, setArmed, runAt }) => {
      await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor(`${CI_BOT}\n${SECOND}`));
      assert.equal((await runAt(0)).code, 0);
      await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor('      - { label: second, type: totp, primary: true }', '    unmanaged: delete\n'));
      const before = new Set(emu.snapshot().accounts[0]?.methods.map((m) => m.id));

      setArmed(true);
      const apply = await runAt(RUN_GAP_MS);

      assert.equal(apply.code, 0, apply.stderr);
      const live = emu.snapshot().accounts.find((a) => a.id === accountId);
      assert.deepEqual(live?.methods.map((m) => m.label), ['second']);
      assert.deepEqual((await readStoreRecord(dir)).methods.map((r) => r.label), ['second']);
      await assertSettled(emu, dir, accountId, ['second'], before);
    });
  });

  test('regenerate: next apply regenerates', async () => {
    await withDroppedAnswers('regen-backup-codes', async ({ emu, dir, accountId, setArmed, runAt }) => {
      assert.equal((await runAt(0)).code, 0);
      await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor(CI_BOT, '    backupCodes: { minRemaining: 10 }\n'));
      const account = emu.snapshot().accounts[0];
      assert.ok(account !== undefined);
      // Someone used one code by hand, so the account has 9, fewer than the 10 asked for.
      const used = await callApi(emu.url, account.api_key, 'POST', '/api/v0/tfa/', { backup_code: account.backup_codes[0]?.code });
      assert.equal(used.status, 200);

      setArmed(true);
      const lost = await runAt(RUN_GAP_MS);
      assert.equal(lost.code, 1, 'the lost answer fails the run');
      assert.match(lost.stderr, /PUT \/api\/v0\/tfa\/regen-backup-codes\/ was sent to .*but no response arrived/);
      const stored = await readStoreRecord(dir);
      assert.equal(stored.backupCodes.filter((c) => !c.used).length, 0, 'the replaced codes no longer count');
      const live = emu.snapshot().accounts[0];
      assert.equal(live?.backup_codes.filter((c) => !c.used).length, 10, 'the server did regenerate');

      setArmed(false);
      const rerun = await runAt(2 * RUN_GAP_MS);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.match(rerun.stdout, /regenerate backup codes/);
      await assertSettled(emu, dir, accountId, ['ci-bot'], new Set(account.methods.map((m) => m.id)));
    });
  });
});
