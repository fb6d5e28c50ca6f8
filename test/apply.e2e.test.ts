import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount, readOutbox, readState, withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';
import { openStore } from '../src/store/open.js';
import { pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';

const ONE_TOTP = '      - { label: ci-bot, type: totp, primary: true }';
const TWO_TOTP = `      - { label: ci-bot, type: totp }
      - { label: second, type: totp, primary: true }`;

async function readStore(dir: string) {
  const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
  try {
    return (await store.read('acct')).record;
  } finally {
    await store.close();
  }
}

test('apply: first method authorized by email', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };

    const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: dir, env });
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stdout, /\+ create totp method "ci-bot" \(primary\)/);
    assert.match(plan.stdout, /Plan: 1 to add, 0 to change, 0 to remove\./);

    const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /Apply complete! 1 added, 0 changed, 0 removed\./);

    const again = await runCli(['plan', '--detailed-exitcode'], { cwd: dir, env });
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.match(again.stdout, /No changes\./);

    const state = await readState(emu.url);
    const live = state.accounts.find((a: { id: number }) => a.id === account.id);
    assert.equal(live.methods.length, 1);
    assert.equal(live.methods[0].label, 'ci-bot');
    assert.equal(live.methods[0].is_primary, true);

    const outbox = await readOutbox(emu.url, account.apiKey);
    assert.deepEqual(outbox.map((m) => m.channel), ['email']);

    const record = await readStore(dir);
    assert.equal(record.methods.length, 1);
    assert.equal(record.methods[0]?.seed, live.methods[0].secret);
    assert.equal(record.methods[0]?.methodId, live.methods[0].id);
    assert.equal(record.methods[0]?.state, 'active');
    assert.deepEqual(
      record.backupCodes.map((c) => c.code).sort(),
      live.backup_codes.map((c: { code: string }) => c.code).sort(),
    );
    assert.equal(record.backupCodes.length, 10);
    assert.ok(record.lock === undefined, 'the lock is released');
  });
});

test('apply: second method authorized by seed', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
    assert.equal((await runCli(['apply', '--auto-approve'], { cwd: dir, env })).code, 0);

    await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor(TWO_TOTP));
    const plan = await runCli(['plan'], { cwd: dir, env });
    assert.match(plan.stdout, /authorized by TOTP method "ci-bot"/);

    const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
    assert.equal(apply.code, 0, apply.stderr);

    const state = await readState(emu.url);
    const live = state.accounts.find((a: { id: number }) => a.id === account.id);
    const second = live.methods.find((m: { label: string }) => m.label === 'second');
    assert.equal(second.is_primary, true);
    assert.equal(live.methods.find((m: { label: string }) => m.label === 'ci-bot').is_primary, false);
    assert.deepEqual((await readOutbox(emu.url, account.apiKey)).length, 1, 'no second email was needed');

    const record = await readStore(dir);
    assert.equal(record.methods.find((m) => m.label === 'second')?.seed, second.secret);
    assert.equal((await runCli(['plan', '--detailed-exitcode'], { cwd: dir, env })).code, 0);
  });
});

test('apply: unmanaged method deleted', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(TWO_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
    assert.equal((await runCli(['apply', '--auto-approve'], { cwd: dir, env })).code, 0);

    await writeFile(join(dir, 'tfa-gitops.yaml'), manifestFor('      - { label: second, type: totp, primary: true }', '    unmanaged: delete\n'));
    const plan = await runCli(['plan'], { cwd: dir, env });
    assert.match(plan.stdout, /- delete totp method #\d+ "ci-bot"/);
    assert.match(plan.stdout, /verified by: TOTP method "second"/);

    const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
    assert.equal(apply.code, 0, apply.stderr);
    const live = (await readState(emu.url)).accounts.find((a: { id: number }) => a.id === account.id);
    assert.deepEqual(live.methods.map((m: { label: string }) => m.label), ['second']);
    const record = await readStore(dir);
    assert.deepEqual(record.methods.map((m) => m.label), ['second']);
  });
});

test('apply: no terminal needs auto-approve', async () => {
  const dir = await makeWorkspace(manifestFor(ONE_TOTP));
  const result = await runCli(['apply'], { cwd: dir, env: { VAST_URL: 'http://127.0.0.1:9' } });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /--auto-approve/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('apply: asks on a terminal', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };

    const declined = await runCli(['apply'], { cwd: dir, env, interactive: true, stdin: Readable.from(['no\n']) });
    assert.equal(declined.code, 1);
    assert.match(declined.stderr, /Do you want to perform these actions\?/);
    assert.match(declined.stderr, /Apply cancelled\./);
    assert.equal((await readState(emu.url)).accounts[0].methods.length, 0, 'nothing changed');

    const accepted = await runCli(['apply'], { cwd: dir, env, interactive: true, stdin: Readable.from(['yes\n']) });
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal((await readState(emu.url)).accounts[0].methods.length, 1);
  });
});

test('apply: closed input cancels cleanly', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };

    const closed = await runCli(['apply'], { cwd: dir, env, interactive: true, stdin: Readable.from([]) });
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /no answer: standard input was closed/);
    assert.equal((await readState(emu.url)).accounts[0].methods.length, 0, 'nothing changed');
  });
});
