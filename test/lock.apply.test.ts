import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';

import { LOCK_TTL_MS } from '../src/apply/lock.js';
import { createFaultInjector, parseFaultSpec } from '../src/emulator/faults.js';
import type { Middleware, RunningEmulator } from '../src/emulator/index.js';
import { openStore } from '../src/store/open.js';
import { emptyRecord, type LockRecord } from '../src/store/types.js';
import { runCli } from './helpers/cli.js';
import { BoundaryGate, readStoreRecord, spawnCli } from './helpers/crash.js';
import { RUN_GAP_MS } from './helpers/crash-walk.js';
import { createAccount, withEmulator } from './helpers/emulator.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const ONE_TOTP = '      - { label: ci-bot, type: totp, primary: true }';

/** Creates the workspace's store with an empty record, so that concurrent runs do not race to create its identity file. */
async function createStore(dir: string): Promise<void> {
  const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
  try {
    await store.write('other', emptyRecord(), 0);
  } finally {
    await store.close();
  }
}

/** Writes a lock into the account's record, as a run that is still going would have left it. */
async function writeLock(dir: string, lock: LockRecord): Promise<void> {
  const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
  try {
    const { record, version } = await store.read('acct');
    await store.write('acct', { ...record, lock }, version);
  } finally {
    await store.close();
  }
}

/** Starts an apply child and kills it while it holds the lock: at its first POST, before the server acts. */
async function killDuringApply(emu: RunningEmulator, gate: BoundaryGate, dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  // Calls 1 and 2 read the status (plan, then the executor under the lock); call 3 opens the window.
  gate.arm(3, 'before');
  const child = spawnCli(['apply', '--auto-approve'], { cwd: dir, env });
  const early = await Promise.race([gate.reached.then(() => undefined), child.exited]);
  assert.equal(early, undefined, `the apply ended before it was killed: ${JSON.stringify(early)}`);
  await child.kill();
  gate.release();
  assert.deepEqual(emu.snapshot().accounts[0]?.methods, [], 'the killed run added nothing');
  return child.pid;
}

describe('apply lock', () => {
  test('two applies at once: one proceeds', async () => {
    // Latency keeps the first apply inside its lock long enough for the second to meet it.
    const injector = createFaultInjector(parseFaultSpec('seed=1;latency=150ms'));
    await withEmulator(
      async (emu) => {
        const account = await createAccount(emu.url);
        const dir = await makeWorkspace(manifestFor(ONE_TOTP));
        await createStore(dir);
        const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };

        const first = spawnCli(['apply', '--auto-approve'], { cwd: dir, env });
        const second = spawnCli(['apply', '--auto-approve'], { cwd: dir, env });
        const results = await Promise.all([first.exited, second.exited]);

        const winners = results.filter((r) => r.code === 0);
        const losers = results.filter((r) => r.code !== 0);
        assert.equal(winners.length, 1, results.map((r) => r.stderr).join('\n---\n'));
        assert.equal(losers.length, 1);
        const winnerPid = results[0]?.code === 0 ? first.pid : second.pid;
        assert.match(losers[0]?.stderr ?? '', new RegExp(`account "acct" is locked by another apply \\(pid ${winnerPid} on ${hostname()}, started `));
        assert.match(losers[0]?.stderr ?? '', /tfa-gitops unlock acct/);

        const live = emu.snapshot().accounts.find((a) => a.id === account.id);
        assert.equal(live?.methods.length, 1, 'exactly one method was enrolled');
        const record = await readStoreRecord(dir);
        assert.equal(record.methods.length, 1);
        assert.equal(record.methods[0]?.seed, live?.methods[0]?.secret);
        assert.equal(record.lock, undefined, 'the winner released its lock');
      },
      { middlewares: [injector.middleware] },
    );
  });

  test('killed run: lock taken over', async () => {
    const gate = new BoundaryGate();
    await withEmulator(
      async (emu) => {
        const account = await createAccount(emu.url);
        const dir = await makeWorkspace(manifestFor(ONE_TOTP));
        const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
        const pid = await killDuringApply(emu, gate, dir, env);
        assert.equal((await readStoreRecord(dir)).lock?.pid, pid, 'the killed run left its lock');

        const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
        assert.equal(apply.code, 0, apply.stderr);
        assert.match(apply.stderr, new RegExp(`took over the lock of a process that is gone \\(pid ${pid} on ${hostname()}`));
        assert.equal((await readStoreRecord(dir)).lock, undefined);
      },
      { middlewares: [gate.middleware as Middleware] },
    );
  });

  test('other host lock blocks until unlock', async () => {
    await withEmulator(async (emu) => {
      const account = await createAccount(emu.url);
      const dir = await makeWorkspace(manifestFor(ONE_TOTP));
      const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
      const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
      const now = Date.now();
      await store.write(
        'acct',
        { methods: [], backupCodes: [], lock: { host: 'build-7', pid: 4242, startedAt: new Date(now).toISOString(), expiresAt: new Date(now + LOCK_TTL_MS).toISOString(), token: 'other' } },
        0,
      );
      await store.close();

      const blocked = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
      assert.equal(blocked.code, 1);
      assert.match(blocked.stderr, /locked by another apply \(pid 4242 on build-7/);

      const unlock = await runCli(['unlock', 'acct'], { cwd: dir, env });
      assert.equal(unlock.code, 0, unlock.stderr);
      assert.match(unlock.stdout, /Released the lock of account "acct" \(pid 4242 on build-7, started .*, expires .*\)\./);
      assert.equal((await readStoreRecord(dir)).lock, undefined);

      const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
      assert.equal(apply.code, 0, apply.stderr);
      const again = await runCli(['unlock', 'acct'], { cwd: dir, env });
      assert.equal(again.code, 0);
      assert.match(again.stdout, /Account "acct" is not locked\./);
    });
  });

  test('expired lock is taken over and reported', async () => {
    const gate = new BoundaryGate();
    await withEmulator(
      async (emu) => {
        const account = await createAccount(emu.url);
        const dir = await makeWorkspace(manifestFor(ONE_TOTP));
        const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
        const pid = await killDuringApply(emu, gate, dir, env);
        const left = (await readStoreRecord(dir)).lock;
        assert.equal(left?.pid, pid);
        assert.equal(Date.parse(left?.expiresAt ?? '') - Date.parse(left?.startedAt ?? ''), LOCK_TTL_MS);

        // Both clocks move 16 minutes on, past the lock's 15-minute expiry.
        emu.setClockOffset(RUN_GAP_MS / 1000);
        const rerun = await spawnCli(['apply', '--auto-approve'], { cwd: dir, env, clockOffsetMs: RUN_GAP_MS }).exited;

        assert.equal(rerun.code, 0, rerun.stderr);
        assert.match(rerun.stderr, new RegExp(`warning: .*took over an expired lock \\(pid ${pid} on ${hostname()}, started `));
        assert.equal(emu.snapshot().accounts[0]?.methods.length, 1);
        assert.equal((await readStoreRecord(dir)).lock, undefined);
      },
      { middlewares: [gate.middleware] },
    );
  });
});

describe('unlock command', () => {
  test('running holder needs --force', async () => {
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const now = Date.now();
    await writeLock(dir, {
      host: hostname(),
      pid: process.pid,
      startedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + LOCK_TTL_MS).toISOString(),
      token: 'held-by-this-test',
    });

    const rejected = await runCli(['unlock', 'acct'], { cwd: dir });
    assert.equal(rejected.code, 1);
    assert.match(rejected.stderr, new RegExp(`account "acct" is locked by a running apply \\(pid ${process.pid} on `));
    assert.match(rejected.stderr, /--force/);
    assert.equal((await readStoreRecord(dir)).lock?.token, 'held-by-this-test');

    const forced = await runCli(['unlock', 'acct', '--force'], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /Released the lock of account "acct"/);
    assert.equal((await readStoreRecord(dir)).lock, undefined);
  });

  test('expired lock needs no --force', async () => {
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const started = Date.now() - LOCK_TTL_MS - 60_000;
    await writeLock(dir, {
      host: hostname(),
      pid: process.pid,
      startedAt: new Date(started).toISOString(),
      expiresAt: new Date(started + LOCK_TTL_MS).toISOString(),
      token: 'old',
    });

    const result = await runCli(['unlock', 'acct'], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Released the lock of account "acct" \(.*, expired\)\./);
  });

  test('unknown account is named', async () => {
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const result = await runCli(['unlock', 'acc'], { cwd: dir });

    assert.equal(result.code, 1);
    assert.match(result.stderr, /the manifest has no account "acc"; did you mean "acct"\?/);
  });
});
