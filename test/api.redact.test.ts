import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { REDACTED, collectSecrets, findLeakedSecrets, isSecretKey, maskPhoneNumber, redact, scrubText } from '../src/api/redact.js';

interface RedactCase {
  name: string;
  input: unknown;
  expected: unknown;
}

const CASES: RedactCase[] = [
  {
    name: 'TOTP verification',
    input: { tfa_method: 'totp', code: '012345', tfa_method_id: 4 },
    expected: { tfa_method: 'totp', code: REDACTED, tfa_method_id: 4 },
  },
  {
    name: 'SMS verification with challenge',
    input: { tfa_method: 'sms', code: '999000', secret: 'chal-abcdef' },
    expected: { tfa_method: 'sms', code: REDACTED, secret: REDACTED },
  },
  {
    name: 'backup code',
    input: { backup_code: 'AAAA-BBBB-CCCC', target_id: 9 },
    expected: { backup_code: REDACTED, target_id: 9 },
  },
  {
    name: 'backup codes keep their count',
    input: { msg: 'success', backup_codes: ['AAAA-BBBB-CCCC', 'DDDD-EEEE-FFFF'] },
    expected: { msg: 'success', backup_codes: [REDACTED, REDACTED] },
  },
  {
    name: 'TOTP setup',
    input: { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', provisioning_uri: 'otpauth://totp/vast.ai:a@b.c?secret=JBSW&issuer=vast.ai' },
    expected: { secret: REDACTED, provisioning_uri: REDACTED },
  },
  {
    name: 'login answer',
    input: { id: 1, email: 'a@example.com', session_key: 'sess-123456', api_key: 'key-abcdef' },
    expected: { id: 1, email: 'a@example.com', session_key: REDACTED, api_key: REDACTED },
  },
  {
    name: 'token and other spellings',
    input: { token: 'tok-1', apiKey: 'k-2', backupCodes: ['x1', 'x2', 'x3'], 'Session-Key': 's' },
    expected: { token: REDACTED, apiKey: REDACTED, backupCodes: [REDACTED, REDACTED, REDACTED], 'Session-Key': REDACTED },
  },
  {
    name: 'phone number masked',
    input: { tfa_method: 'sms', phone_number: '+1 (212) 555-1234', label: 'oncall' },
    expected: { tfa_method: 'sms', phone_number: '******1234', label: 'oncall' },
  },
  {
    name: 'deep in arrays and objects',
    input: { accounts: [{ methods: [{ id: 1, secret: 'SEED', phone_number: '+12125559876' }] }] },
    expected: { accounts: [{ methods: [{ id: 1, secret: REDACTED, phone_number: '******9876' }] }] },
  },
  {
    name: 'numeric code',
    input: { code: 123456 },
    expected: { code: REDACTED },
  },
  {
    name: 'null and missing values stay',
    input: { secret: null, label: null, phone_number: null },
    expected: { secret: null, label: null, phone_number: null },
  },
  {
    name: 'secret object under a secret key',
    input: { secret: { seed: 'S', counter: 1 } },
    expected: { secret: REDACTED },
  },
  {
    name: 'status answer unchanged',
    input: { tfa_enabled: true, methods: [{ id: 3, method: 'totp', label: 'ci', is_primary: true }], backup_codes_remaining: 8 },
    expected: { tfa_enabled: true, methods: [{ id: 3, method: 'totp', label: 'ci', is_primary: true }], backup_codes_remaining: 8 },
  },
  {
    name: 'error body keeps its fields',
    input: { error: '2fa_verification_failed', msg: 'Invalid code', fail_count: 2, locked_until: null },
    expected: { error: '2fa_verification_failed', msg: 'Invalid code', fail_count: 2, locked_until: null },
  },
  { name: 'plain string', input: 'hello', expected: 'hello' },
  { name: 'undefined', input: undefined, expected: undefined },
];

describe('redact', () => {
  for (const { name, input, expected } of CASES) {
    test(`redact ${name}`, () => {
      const before = JSON.stringify(input);

      const output = redact(input);

      assert.deepEqual(output, expected);
      assert.equal(JSON.stringify(input), before, 'the input was modified');
      assert.deepEqual(findLeakedSecrets(output, collectSecrets(input)), []);
    });
  }

  test('redact is idempotent', () => {
    for (const { name, input } of CASES) {
      const once = redact(input);
      assert.deepEqual(redact(once), once, name);
    }
  });

  test('redact scrubs known secrets in text', () => {
    const output = redact({ error: 'bad_request', msg: 'code 482913 does not match challenge chal-abcdef', nested: ['chal-abcdef'] }, ['482913', 'chal-abcdef']);

    assert.deepEqual(output, { error: 'bad_request', msg: `code ${REDACTED} does not match challenge ${REDACTED}`, nested: [REDACTED] });
  });

  test('redact survives a cycle', () => {
    const looped: Record<string, unknown> = { code: '111111', label: 'x' };
    looped['self'] = looped;

    assert.deepEqual(redact(looped), { code: REDACTED, label: 'x', self: '[circular]' });
  });
});

describe('secret helpers', () => {
  test('isSecretKey matches listed keys', () => {
    for (const key of ['code', 'secret', 'backup_code', 'backup_codes', 'session_key', 'api_key', 'provisioning_uri', 'token', 'Backup-Codes']) {
      assert.equal(isSecretKey(key), true, key);
    }
    for (const key of ['label', 'msg', 'error', 'tfa_method', 'id', 'phone_number', 'codes_remaining']) {
      assert.equal(isSecretKey(key), false, key);
    }
  });

  test('maskPhoneNumber keeps last 4 digits', () => {
    assert.equal(maskPhoneNumber('+12125551234'), '******1234');
    assert.equal(maskPhoneNumber('******1234'), '******1234');
    assert.equal(maskPhoneNumber('12'), '******12');
  });

  test('collectSecrets finds nested values', () => {
    const secrets = collectSecrets({ code: '012345', outer: { backup_codes: ['AAAA-BBBB-CCCC'], phone_number: '+12125551234' }, label: 'ci' });

    assert.deepEqual(secrets.sort(), ['+12125551234', '012345', 'AAAA-BBBB-CCCC']);
  });

  test('findLeakedSecrets reports each leak', () => {
    const secrets = ['012345', 'AAAA-BBBB-CCCC', '+12125551234', 'ab'];

    assert.deepEqual(findLeakedSecrets('code was 012345, phone ******1234', secrets), ['012345']);
    assert.deepEqual(findLeakedSecrets({ nested: ['AAAA-BBBB-CCCC'] }, secrets), ['AAAA-BBBB-CCCC']);
    assert.deepEqual(findLeakedSecrets('ab ab ab', secrets), []);
  });

  test('scrubText replaces longer secrets first', () => {
    assert.equal(scrubText('token abcdef-123456 and 123456', ['123456', 'abcdef-123456']), `token ${REDACTED} and ${REDACTED}`);
  });
});
