import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RunningEmulator } from '../src/emulator/index.js';
import { walkOperation } from './helpers/crash-walk.js';
import { callApi } from './helpers/emulator.js';
import { manifestFor } from './helpers/workspace.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';
const SECOND = '      - { label: second, type: totp }';

/** Spends backup codes through login, as a person who used them by hand would, until `left` remain. */
async function spendBackupCodes(emu: RunningEmulator, apiKey: string, left: number): Promise<void> {
  const account = emu.snapshot().accounts.find((a) => a.api_key === apiKey);
  assert.ok(account !== undefined);
  const unused = account.backup_codes.filter((c) => !c.used).map((c) => c.code);
  for (const code of unused.slice(left)) {
    const response = await callApi(emu.url, apiKey, 'POST', '/api/v0/tfa/', { backup_code: code });
    assert.equal(response.status, 200, JSON.stringify(response.body));
  }
}

test('crash walk: backup-code regeneration', async (t) => {
  const manifest = manifestFor(CI_BOT, '    backupCodes: { minRemaining: 3 }\n');
  const result = await walkOperation({
    name: 'backup-code regeneration',
    setupManifest: manifest,
    afterSetup: (emu, apiKey) => spendBackupCodes(emu, apiKey, 2),
    manifest,
    args: ['apply', '--auto-approve'],
    labels: ['ci-bot'],
  });

  t.diagnostic(`backup-code regeneration: walked ${result.boundaries} boundaries (${result.calls} API calls, killed before and after each)`);
  // The plan's status read, then the regeneration: apply reuses that status under its lock.
  assert.ok(result.calls >= 2, `only ${result.calls} API calls`);
  assert.equal(result.wrongCodes, 0);
});

test('crash walk: TOTP rotation', async (t) => {
  const result = await walkOperation({
    name: 'TOTP rotation',
    setupManifest: manifestFor(CI_BOT),
    manifest: manifestFor(CI_BOT),
    args: ['apply', '--auto-approve', '--rotate', 'acct/ci-bot'],
    labels: ['ci-bot'],
  });

  t.diagnostic(`TOTP rotation: walked ${result.boundaries} boundaries (${result.calls} API calls, killed before and after each)`);
  assert.ok(result.calls >= 7, `only ${result.calls} API calls`);
  assert.equal(result.wrongCodes, 0);
});

test('crash walk: method removal', async (t) => {
  const result = await walkOperation({
    name: 'method removal',
    setupManifest: manifestFor(`${CI_BOT}\n${SECOND}`),
    manifest: manifestFor('      - { label: second, type: totp, primary: true }', '    unmanaged: delete\n'),
    args: ['apply', '--auto-approve'],
    labels: ['second'],
  });

  t.diagnostic(`method removal: walked ${result.boundaries} boundaries (${result.calls} API calls, killed before and after each)`);
  assert.ok(result.calls >= 3, `only ${result.calls} API calls`);
  assert.equal(result.wrongCodes, 0);
});
