import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { checkClockSkew, ClockSkewError } from '../src/apply/skew.js';
import { createAccount, readOutbox, withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { makeWorkspace, manifestFor } from './helpers/workspace.js';

const ONE_TOTP = '      - { label: ci-bot, type: totp, primary: true }';
const URL = 'http://127.0.0.1:8080';

describe('clock skew check', () => {
  test('within 15 s passes quietly', () => {
    for (const offsetMs of [0, 15_000, -15_000]) {
      const check = checkClockSkew(offsetMs, URL);
      assert.equal(check.warning, undefined, String(offsetMs));
    }
  });

  test('beyond 15 s warns', () => {
    const behind = checkClockSkew(20_000, URL);
    const ahead = checkClockSkew(-30_000, URL);

    assert.match(behind.warning ?? '', /clock is 20 s behind the clock of http:\/\/127\.0\.0\.1:8080/);
    assert.match(behind.warning ?? '', /NTP/);
    assert.match(ahead.warning ?? '', /clock is 30 s ahead of the clock of/);
  });

  test('beyond one step is rejected', () => {
    for (const [offsetMs, words] of [[30_001, '30 s behind'], [45_000, '45 s behind'], [-3_600_000, '3600 s ahead of']] as const) {
      assert.throws(
        () => checkClockSkew(offsetMs, URL),
        (error: unknown) => {
          assert.ok(error instanceof ClockSkewError);
          assert.equal(error.code, 'clock_skew');
          assert.equal(error.offsetMs, offsetMs);
          assert.match(error.message, new RegExp(`clock is ${words} the clock of`));
          assert.match(error.message, /no code was sent/);
          assert.match(error.hint ?? '', /NTP/);
          return true;
        },
      );
    }
  });

  test('missing Date header warns', () => {
    const check = checkClockSkew(undefined, URL);

    assert.match(check.warning ?? '', /sent no Date header/);
  });
});

/** Applies the one-TOTP manifest to a new account on an emulator whose clock is `offsetSeconds` off. */
async function applyWithOffset(offsetSeconds: number) {
  return withEmulator(async (emu) => {
    emu.setClockOffset(offsetSeconds);
    const account = await createAccount(emu.url);
    const dir = await makeWorkspace(manifestFor(ONE_TOTP));
    const env = { VAST_URL: emu.url, TEST_API_KEY: account.apiKey };

    const apply = await runCli(['apply', '--auto-approve'], { cwd: dir, env });
    const live = emu.snapshot().accounts.find((a) => a.id === account.id);
    assert.ok(live !== undefined);
    return { apply, live, outbox: await readOutbox(emu.url, account.apiKey) };
  });
}

describe('apply with a skewed clock', () => {
  test('45 s off is rejected before any code', async () => {
    const { apply, live, outbox } = await applyWithOffset(45);

    assert.equal(apply.code, 1, apply.stdout + apply.stderr);
    assert.match(apply.stderr, /clock is 4[4-6] s behind the clock of http:\/\/127\.0\.0\.1:\d+/);
    assert.match(apply.stderr, /no code was sent/);
    assert.match(apply.stderr, /NTP/);
    assert.deepEqual(live.methods, [], 'no method was added');
    assert.deepEqual(live.issued_seeds, [], 'totp-setup was never called');
    assert.equal(live.removed_methods.length, 0);
    assert.equal(live.email_wrong_codes_total, 0);
    assert.deepEqual(outbox, [], 'no email code was requested');
  });

  test('45 s ahead is rejected too', async () => {
    const { apply, live } = await applyWithOffset(-45);

    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /clock is 4[4-6] s ahead of the clock of/);
    assert.deepEqual(live.methods, []);
  });

  test('10 s off works without warning', async () => {
    const { apply, live } = await applyWithOffset(10);

    assert.equal(apply.code, 0, apply.stderr);
    assert.doesNotMatch(apply.stderr, /clock is/);
    assert.equal(live.methods.length, 1);
    assert.equal(live.methods[0]?.wrong_codes_total, 0);
  });

  test('20 s off works with a warning', async () => {
    const { apply, live } = await applyWithOffset(20);

    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stderr, /warning: .*clock is (19|20|21) s behind/);
    assert.equal(live.methods.length, 1);
    assert.equal(live.methods[0]?.wrong_codes_total, 0);
  });
});
