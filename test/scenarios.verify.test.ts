import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callApi, readOutbox, withEmulator } from './helpers/emulator.js';
import { applyOk, assertConverged, assertInvariants, startScenario } from './helpers/scenario.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';
const TWO = `${CI_BOT}\n      - { label: second, type: totp }`;
const SMS = `      - label: oncall
        type: sms
        phone: "+12125551234"
        codes: { command: node read-outbox.mjs sms, timeoutSeconds: 10 }`;

test('backup codes: below minimum regenerated', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT, '    backupCodes: { minRemaining: 3 }\n');
    await applyOk(scenario);

    // Someone logs in with 8 backup codes, outside the tool.
    const record = await scenario.record();
    for (const { code } of record.backupCodes.slice(0, 8)) {
      const login = await callApi(emu.url, scenario.apiKey, 'POST', '/api/v0/tfa/', { backup_code: code });
      assert.equal(login.status, 200);
    }

    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /regenerate backup codes/);
    assert.match(plan.stdout, /2 backup codes left, fewer than 3/);
    assert.match(plan.stdout, /verified by: TOTP method "ci-bot"/);

    await applyOk(scenario);
    const live = await scenario.live();
    assert.equal(live.backup_codes.filter((c: { used: boolean }) => !c.used).length, 10);
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('backup codes: lost codes regenerated', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);
    await scenario.writeRecord((record) => {
      record.backupCodes = [];
    });

    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /the account has 10 unused backup codes but the store holds 0/);
    await applyOk(scenario);
    assert.equal((await scenario.record()).backupCodes.length, 10);
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('verify: by SMS code', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, SMS);
    await applyOk(scenario);
    await scenario.writeRecord((record) => {
      record.backupCodes = [];
    });

    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /verified by: SMS method "oncall"/);
    await applyOk(scenario);
    const sms = (await readOutbox(emu.url, scenario.apiKey)).filter((m) => m.channel === 'sms');
    assert.equal(sms.length, 2, 'one code to enroll, one to verify');
    await assertInvariants(scenario);
  });
});

test('verify: by emailed code', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT, '    verifyWith: [email]\n');
    await applyOk(scenario);
    await scenario.writeRecord((record) => {
      record.backupCodes = [];
    });

    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /verified by: an emailed code/);
    await applyOk(scenario);
    const emails = (await readOutbox(emu.url, scenario.apiKey)).filter((m) => m.channel === 'email');
    assert.equal(emails.length, 2, 'one to authorize the first method, one to verify');
    await assertInvariants(scenario);
  });
});

test('verify: by stored backup code', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT, '    verifyWith: [backupCode]\n');
    await applyOk(scenario);

    await scenario.setManifest(TWO, '    verifyWith: [backupCode]\n');
    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /authorized by a stored backup code/);
    await applyOk(scenario);

    const live = await scenario.live();
    assert.equal(live.methods.length, 2);
    assert.equal(live.backup_codes.filter((c: { used: boolean }) => c.used).length, 1);
    const record = await scenario.record();
    assert.equal(record.backupCodes.filter((c) => c.used).length, 1, 'the spent code is marked used');
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('verify: locked method skipped', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);
    const methodId = (await scenario.live()).methods[0].id;

    // Five wrong codes from somewhere else lock the method for 15 minutes.
    for (let i = 0; i < 5; i++) {
      await callApi(emu.url, scenario.apiKey, 'POST', '/api/v0/tfa/', { tfa_method: 'totp', tfa_method_id: methodId, code: '000000' });
    }

    await scenario.setManifest(TWO);
    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /is locked until/);
    assert.match(plan.stdout, /authorized by an emailed code/);
    await applyOk(scenario);
    assert.equal((await scenario.live()).methods.length, 2);
    const record = await scenario.record();
    assert.ok(record.methods.every((r) => r.state === 'active'));
  });
});

test('verify: no third wrong code', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, SMS, '    verifyWith: [sms, email]\n');
    await applyOk(scenario);
    await scenario.writeRecord((record) => {
      record.backupCodes = [];
    });

    // The SMS provider now prints a wrong code every time: two refusals, then email verifies.
    await scenario.setManifest(SMS.replace('node read-outbox.mjs sms', 'echo 000000'), '    verifyWith: [sms, email]\n');
    const result = await applyOk(scenario);
    assert.match(result.stderr, /rejected \(2 of 2\): not trying it again/);

    const live = await scenario.live();
    assert.equal(live.methods[0].wrong_codes_total, 2);
    assert.equal(live.methods[0].fail_count, 2, 'the method is not locked');
    await assertInvariants(scenario);
  });
});
