import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createAccount, readState, withEmulator } from './helpers/emulator.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';
import { openStore } from '../src/store/open.js';

const root = join(import.meta.dirname, '..', '..');

test('apply: closed stdout pipe survived', async () => {
  await withEmulator(async (emu) => {
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor('      - { label: ci-bot, type: totp, primary: true }'));
    const child = spawn(process.execPath, [join(root, 'bin', 'tfa-gitops.js'), 'apply', '--auto-approve'], {
      cwd: dir,
      env: { ...process.env, VAST_URL: emu.url, TEST_API_KEY: account.apiKey, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away at once, as `| head -0` would.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolveExit) => child.on('close', resolveExit));

    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE/);
    const live = (await readState(emu.url)).accounts[0];
    assert.equal(live.methods.length, 1);
    const store = await openStore(pathToFileURL(join(dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
    const { record } = await store.read('acct');
    await store.close();
    assert.equal(record.lock, undefined, 'the lock was released');
    assert.equal(record.backupCodes.length, 10);
  });
});
