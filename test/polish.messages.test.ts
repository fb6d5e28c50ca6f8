import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CommandCodeProvider } from '../src/apply/command-provider.js';
import { LOCK_TTL_MS } from '../src/apply/lock.js';
import { errorText } from '../src/cli/session.js';
import { TfaError } from '../src/errors.js';
import { openStore } from '../src/store/open.js';
import { runCli } from './helpers/cli.js';
import { createAccount, withEmulator } from './helpers/emulator.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const ONE_TOTP = '      - { label: ci-bot, type: totp, primary: true }';

async function providerError(command: string, channel: 'email' | 'sms', timeoutSeconds = 20): Promise<TfaError> {
  const baseDir = await mkdtemp(join(tmpdir(), 'tfa-gitops-polish-'));
  const provider = new CommandCodeProvider(command, timeoutSeconds, { baseDir, env: { PATH: process.env.PATH } });
  const error = await provider.getCode({ account: 'acct', channel, sentAfter: 0 }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TfaError, `expected a TfaError, got ${String(error)}`);
  return error;
}

test('error text: joins hint cleanly', async () => {
  const failed = errorText(await providerError('echo oops. >&2; exit 3', 'email'));
  assert.doesNotMatch(failed, /\.;/);
  assert.match(failed, /failed with exit code 3: oops\. Run it by hand in /);

  const lowercase = errorText(new TfaError('some_code', 'the value is wrong.', { hint: 'pass another one' }));
  assert.equal(lowercase, 'the value is wrong; pass another one');

  const unpunctuated = errorText(new TfaError('some_code', 'the value is wrong', { hint: 'Pass another one.' }));
  assert.equal(unpunctuated, 'the value is wrong. Pass another one.');
});

test('provider timeout: names the manifest key', async () => {
  const email = await providerError('sleep 5', 'email', 0.2);
  assert.match(email.hint ?? '', /raise timeoutSeconds in the account's emailCodes entry of the manifest/);

  const sms = await providerError('sleep 5', 'sms', 0.2);
  assert.match(sms.hint ?? '', /raise timeoutSeconds in the SMS method's codes entry of the manifest/);
});

test('auth error: server message once', async () => {
  await withEmulator(async (emu) => {
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: 'wrong-key-0000000000000000XYZW' };
    const plan = await runCli(['plan', '--quiet'], { cwd: dir, env });
    assert.equal(plan.code, 1);

    const line = plan.stderr.split('\n').find((text) => text.startsWith('Error: ')) ?? '';
    assert.match(line, new RegExp(`403 auth_error: the API key \\.\\.\\.XYZW was rejected by ${emu.url}: Invalid API key \\.\\.\\.XYZW: no account has this key\\. Pass a valid key`));
    assert.doesNotMatch(line, /\.\. /, "no doubled period");
    assert.equal(line.split('was rejected').length, 2, 'the rejection is said once');
  });
});

test('lock error: account named once', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };
    const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
    const now = Date.now();
    const lock = { host: 'build-7', pid: 4242, startedAt: new Date(now).toISOString(), expiresAt: new Date(now + LOCK_TTL_MS).toISOString(), token: 'other' };
    await store.write('acct', { methods: [], backupCodes: [], lock }, 0);
    await store.close();

    const apply = await runCli(['apply', '--auto-approve', '--quiet'], { cwd: dir, env });
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /^Error: account "acct" is locked by another apply/m);
    assert.doesNotMatch(apply.stderr, /account "acct": account "acct"/);
    assert.match(apply.stdout, /^ {2}x acct: account "acct" is locked by another apply/m);
  });
});
