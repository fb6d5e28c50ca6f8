import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount, withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const ONE_TOTP = '      - { label: ci-bot, type: totp, primary: true }';

function storeKeyManifest(): string {
  return manifestFor(ONE_TOTP).replace('apiKey: { env: TEST_API_KEY }', 'apiKey: { store: acct-key }');
}

test('store api key: set then used', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(storeKeyManifest());
    // The outbox reader still reads the key from TEST_API_KEY.
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };

    const set = await runCli(['store', 'set-api-key', 'acct-key'], { cwd: dir, env, stdin: Readable.from([`${account.apiKey}\n`]) });
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`Stored the API key \\.\\.\\.${account.apiKey.slice(-4)} in record "acct-key"`));
    assert.ok(!(set.stdout + set.stderr).includes(account.apiKey), 'the key is not printed');

    const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: dir, env: { VAST_URL: emu.url } });
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stdout, /\+ create totp method "ci-bot"/);

    const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
    assert.equal(apply.code, 0, apply.stderr);
  });
});

test('store api key: missing record named', async () => {
  await withEmulator(async (emu) => {
    const dir = await makeWorkspace(storeKeyManifest());
    await writeFile(join(dir, 'unused'), '');
    const plan = await runCli(['plan'], { cwd: dir, env: { VAST_URL: emu.url } });
    assert.equal(plan.code, 1);
    assert.match(plan.stderr, /holds no API key in record "acct-key"/);
    assert.match(plan.stderr, /tfa-gitops store set-api-key acct-key < KEY_FILE/);
  });
});

test('store api key: empty input rejected', async () => {
  const dir = await makeWorkspace(storeKeyManifest());
  const set = await runCli(['store', 'set-api-key', 'acct-key'], { cwd: dir, stdin: Readable.from(['\n']) });
  assert.equal(set.code, 1);
  assert.match(set.stderr, /no API key/);
});
