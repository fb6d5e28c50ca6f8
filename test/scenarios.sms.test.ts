import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readOutbox, withEmulator } from './helpers/emulator.js';
import { applyOk, assertConverged, assertInvariants, startScenario } from './helpers/scenario.js';

const smsMethod = (phone: string, command = 'node read-outbox.mjs sms') =>
  `      - label: oncall
        type: sms
        phone: "${phone}"
        codes: { command: ${command}, timeoutSeconds: 10 }`;

test('sms: enrolled with outbox codes', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, smsMethod('+12125551234'));
    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /\+ create sms method "oncall"/);

    await applyOk(scenario);
    const live = await scenario.live();
    assert.equal(live.methods.length, 1);
    assert.equal(live.methods[0].method, 'sms');
    assert.equal(live.methods[0].label, 'oncall');
    assert.equal(live.methods[0].phone_number, '+12125551234');
    assert.deepEqual((await readOutbox(emu.url, scenario.apiKey)).map((m) => m.channel), ['email', 'sms']);

    const record = await scenario.record();
    assert.equal(record.backupCodes.length, 10);
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('sms: number change replaces method', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, smsMethod('+12125551234'));
    await applyOk(scenario);
    const before = (await scenario.live()).methods[0];

    await scenario.setManifest(smsMethod('+12125559876'));
    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /replace sms method #\d+ "oncall"/);
    assert.match(plan.stdout, /ends in 9876/);

    await applyOk(scenario);
    const live = await scenario.live();
    assert.equal(live.methods.length, 1);
    assert.equal(live.methods[0].phone_number, '+12125559876');
    assert.notEqual(live.methods[0].id, before.id);
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('sms: earlier challenge resent', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, smsMethod('+12125551234', 'exit 4'));
    const failed = await scenario.cli(['apply', '--auto-approve']);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /exit 4|exit code 4/);

    await scenario.setManifest(smsMethod('+12125551234'));
    const retried = await applyOk(scenario);
    assert.match(retried.stderr, /send it again/);

    const sms = (await readOutbox(emu.url, scenario.apiKey)).filter((m) => m.channel === 'sms');
    assert.equal(sms.length, 2, 'the code was sent, then resent');
    assert.equal(sms[0]?.code, sms[1]?.code);
    assert.equal((await scenario.live()).methods[0].label, 'oncall');
    await assertInvariants(scenario);
  });
});

test('sms: missing code times out clearly', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, smsMethod('+12125551234', 'sleep 30').replace('timeoutSeconds: 10', 'timeoutSeconds: 1'));
    const started = Date.now();
    const result = await scenario.cli(['apply', '--auto-approve']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /timed out|did not finish|1 s/i);
    assert.ok(Date.now() - started < 15_000, 'the provider timeout ended the run');
    assert.equal((await scenario.live()).methods.length, 0);
  });
});
