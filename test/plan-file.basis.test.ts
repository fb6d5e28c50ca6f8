import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveMethod, TfaStatus } from '../src/api/types.js';
import type { DesiredAccount } from '../src/manifest/types.js';
import { compareBasis, desiredFingerprint, statusFingerprint } from '../src/cli/saved-plan.js';

const method: LiveMethod = {
  id: 7,
  user_id: 1,
  method: 'totp',
  label: 'ci-bot',
  is_primary: true,
  fail_count: 0,
  locked_until: null,
  created_at: 1_800_000_000,
  last_used: null,
};
const other: LiveMethod = { ...method, id: 9, label: 'other', is_primary: false };
const status: TfaStatus = { tfa_enabled: true, methods: [method, other], backup_codes_remaining: 10, new_method_authorized: false };

const desired: DesiredAccount = {
  name: 'ml-prod',
  apiKey: { env: 'KEY' },
  emailCodes: { kind: 'command', command: './read-mail.sh', timeoutSeconds: 60 },
  methods: [{ type: 'totp', label: 'ci-bot', primary: true, position: { file: 'a.yaml', line: 7, column: 9 } }],
  backupCodes: { minRemaining: 3 },
  unmanaged: 'report',
  verifyWith: ['totp', 'sms', 'email', 'backupCode'],
  allowDisable: false,
  baseDir: '/checkout/one',
  position: { file: 'a.yaml', line: 4, column: 5 },
};

test('status hash: ignores last use and window', () => {
  const base = statusFingerprint(status);
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(statusFingerprint({ ...status, methods: [{ ...method, last_used: 1_800_000_500.25 }, other] }), base);
  assert.equal(statusFingerprint({ ...status, new_method_authorized: true }), base);
  assert.equal(statusFingerprint({ ...status, methods: [other, method] }), base, 'method order does not matter');
});

test('status hash: sees method changes', () => {
  const base = statusFingerprint(status);
  assert.notEqual(statusFingerprint({ ...status, methods: [{ ...method, label: 'renamed' }, other] }), base);
  assert.notEqual(statusFingerprint({ ...status, methods: [{ ...method, is_primary: false }, other] }), base);
  assert.notEqual(statusFingerprint({ ...status, methods: [method] }), base);
  assert.notEqual(statusFingerprint({ ...status, backup_codes_remaining: 9 }), base);
  assert.notEqual(statusFingerprint({ ...status, methods: [{ ...method, fail_count: 1 }, other] }), base);
});

test('manifest hash: ignores checkout details', () => {
  const base = desiredFingerprint(desired);
  const moved: DesiredAccount = {
    ...desired,
    baseDir: '/checkout/two',
    position: { file: 'b.yaml', line: 40, column: 5 },
    apiKey: { file: 'key.txt' },
    emailCodes: { kind: 'prompt' },
    methods: [{ type: 'totp', label: 'ci-bot', primary: true, position: { file: 'b.yaml', line: 44, column: 9 } }],
  };
  assert.equal(desiredFingerprint(moved), base);
});

test('manifest hash: sees rule changes', () => {
  const base = desiredFingerprint(desired);
  assert.notEqual(desiredFingerprint({ ...desired, backupCodes: { minRemaining: 4 } }), base);
  assert.notEqual(desiredFingerprint({ ...desired, unmanaged: 'delete' }), base);
  assert.notEqual(desiredFingerprint({ ...desired, methods: [] }), base);
  const { emailCodes: _emailCodes, ...withoutEmail } = desired;
  assert.notEqual(desiredFingerprint(withoutEmail), base);
});

test('basis: names each change', () => {
  const basis = { statusSha256: statusFingerprint(status), storeVersion: 3, desiredSha256: desiredFingerprint(desired), rotate: [] };
  assert.deepEqual(compareBasis(basis, { status, storeVersion: 3, desired }), []);
  assert.deepEqual(compareBasis(basis, { status: { ...status, methods: [method] }, storeVersion: 5, desired: { ...desired, methods: [] } }), [
    'its manifest entry changed',
    'its live 2FA status changed',
    'its store record changed (version 3 when planned, 5 now)',
  ]);
});
