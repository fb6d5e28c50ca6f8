import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount, readState, withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';
import { createIdentityFile } from '../src/store/identity.js';

const ONE_TOTP = '      - { label: ci-bot, type: totp, primary: true }';
const STACK = /\n\s+at /;

function assertOneMessage(result: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, STACK, 'no stack trace');
}

test('plan: unreachable URL named', async () => {
  const dir = await makeWorkspace(manifestFor(ONE_TOTP));
  const refused = await runCli(['plan', '--retry', '0', '--url', 'http://127.0.0.1:9'], { cwd: dir, env: { TEST_API_KEY: 'k'.repeat(32) } });
  assertOneMessage(refused, /127\.0\.0\.1:9/);
});

test('plan: rejected API key named by hint', async () => {
  await withEmulator(async (emu) => {
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const key = 'not-a-real-key-0000000000000wxyz';
    const result = await runCli(['plan'], { cwd: dir, env: { VAST_URL: emu.url, TEST_API_KEY: key } });
    assertOneMessage(result, /auth_error|rejected|invalid/i);
    assert.match(result.stderr, /wxyz/);
    assert.ok(!result.stderr.includes(key), 'the key is not printed whole');
  });
});

test('plan: undecryptable store explained', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
    assert.equal((await runCli(['apply', '--auto-approve'], { cwd: dir, env })).code, 0);

    const otherIdentity = join(dir, 'other-identity.txt');
    await createIdentityFile(otherIdentity);
    const result = await runCli(['plan'], { cwd: dir, env: { ...env, TFA_GITOPS_IDENTITY: otherIdentity } });
    assertOneMessage(result, /secrets\.age/);
  });
});

test('apply: failing code provider named', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const manifest = manifestFor(ONE_TOTP).replace('node read-outbox.mjs email', 'exit 3');
    const dir = await makeWorkspace(manifest);
    const result = await runCli(['apply', '--auto-approve'], { cwd: dir, env: { VAST_URL: emu.url, TEST_API_KEY: account.apiKey } });
    assertOneMessage(result, /exit 3/);
    assert.match(result.stderr, /exited|exit code|status/i);

    const live = (await readState(emu.url)).accounts.find((a: { id: number }) => a.id === account.id);
    assert.equal(live.methods.length, 0, 'nothing was enrolled');
  });
});

test('validate: unquoted phone number', async () => {
  const dir = await makeWorkspace(
    manifestFor('      - label: oncall\n        type: sms\n        phone: +12125551234\n        codes: { env: SMS_CODE }'),
  );
  const result = await runCli(['validate'], { cwd: dir });
  assertOneMessage(result, /tfa-gitops\.yaml:\d+:\d+/);
  assert.match(result.stderr, /"\+12125551234"/);
});

test('validate: missing manifest named', async () => {
  const dir = await makeWorkspace(manifestFor(ONE_TOTP));
  const result = await runCli(['validate', '-f', 'nope.yaml'], { cwd: dir });
  assertOneMessage(result, /nope\.yaml/);
});

test('apply: explain trace has no secrets', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
    const result = await runCli(['apply', '--auto-approve', '--explain'], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /explain: .*request="POST \/api\/v0\/tfa\/confirm-new\/"/);
    assert.match(result.stderr, /\[redacted\]/);

    const state = await readState(emu.url);
    const live = state.accounts.find((a: { id: number }) => a.id === account.id);
    const secrets = [
      account.apiKey,
      ...live.methods.map((m: { secret: string }) => m.secret),
      ...live.backup_codes.map((c: { code: string }) => c.code),
      ...state.outbox.map((m: { code: string }) => m.code),
    ];
    const output = result.stdout + result.stderr;
    for (const secret of secrets) assert.ok(!output.includes(secret), `a secret of length ${secret.length} leaked`);
  });
});

test('plan: two methods with one label', async () => {
  const dir = await makeWorkspace(manifestFor('      - { label: a, type: totp }\n      - { label: a, type: totp }'));
  await writeFile(join(dir, 'unused.txt'), '');
  const result = await runCli(['plan'], { cwd: dir });
  assertOneMessage(result, /label "a"|"a"/);
});
