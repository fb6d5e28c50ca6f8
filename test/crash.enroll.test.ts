import assert from 'node:assert/strict';
import { test } from 'node:test';

import { walkOperation } from './helpers/crash-walk.js';
import { manifestFor } from './helpers/workspace.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';
const SECOND = '      - { label: second, type: totp }';
const ONCALL = '      - { label: oncall, type: sms, phone: "+12125550100", codes: { command: node read-outbox.mjs sms, timeoutSeconds: 20 } }';

test('crash walk: first TOTP enrollment', async (t) => {
  const result = await walkOperation({
    name: 'first TOTP enrollment',
    manifest: manifestFor(CI_BOT),
    args: ['apply', '--auto-approve'],
    labels: ['ci-bot'],
  });

  t.diagnostic(`first TOTP enrollment: walked ${result.boundaries} boundaries (${result.calls} API calls, killed before and after each)`);
  assert.ok(result.calls >= 6, `only ${result.calls} API calls`);
  assert.equal(result.wrongCodes, 0);
});

test('crash walk: second TOTP enrollment', async (t) => {
  const result = await walkOperation({
    name: 'second TOTP enrollment',
    setupManifest: manifestFor(CI_BOT),
    manifest: manifestFor(`${CI_BOT}\n${SECOND}`),
    args: ['apply', '--auto-approve'],
    labels: ['ci-bot', 'second'],
  });

  t.diagnostic(`second TOTP enrollment: walked ${result.boundaries} boundaries (${result.calls} API calls, killed before and after each)`);
  assert.ok(result.calls >= 6, `only ${result.calls} API calls`);
  assert.equal(result.wrongCodes, 0);
});

test('crash walk: SMS enrollment', async (t) => {
  const result = await walkOperation({
    name: 'SMS enrollment',
    setupManifest: manifestFor(CI_BOT),
    manifest: manifestFor(`${CI_BOT}\n${ONCALL}`),
    args: ['apply', '--auto-approve'],
    labels: ['ci-bot', 'oncall'],
  });

  t.diagnostic(`SMS enrollment: walked ${result.boundaries} boundaries (${result.calls} API calls, killed before and after each)`);
  assert.ok(result.calls >= 5, `only ${result.calls} API calls`);
  assert.equal(result.wrongCodes, 0);
});
