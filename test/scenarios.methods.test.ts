import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callApi, emulatorNow, enrollSms, enrollTotp, totpCode, withEmulator } from './helpers/emulator.js';
import { manifestFor } from './helpers/workspace.js';
import { applyOk, assertConverged, assertInvariants, startScenario } from './helpers/scenario.js';
import type { Middleware } from '../src/emulator/index.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';
const TWO = `      - { label: ci-bot, type: totp, primary: true }\n      - { label: second, type: totp }`;

test('removal: extra method deleted', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT, '    unmanaged: delete\n');
    await applyOk(scenario);
    await enrollTotp(emu.url, scenario.apiKey, 'stray');

    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /- delete totp method #\d+ "stray"/);
    assert.match(plan.stdout, /verified by: TOTP method "ci-bot"/);
    await applyOk(scenario);
    assert.deepEqual((await scenario.live()).methods.map((m: { label: string }) => m.label), ['ci-bot']);
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('removal: zero methods refused', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);

    await writeFile(join(scenario.dir, 'tfa-gitops.yaml'), manifestFor('', '    unmanaged: delete\n').replace('methods:\n', 'methods: []\n'));
    const result = await scenario.cli(['apply', '--auto-approve']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /allowDisable/);
    assert.equal((await scenario.live()).methods.length, 1, 'nothing was removed');
  });
});

test('removal: max-deletes gate', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT, '    unmanaged: delete\n');
    await applyOk(scenario);
    await enrollTotp(emu.url, scenario.apiKey, 'stray-1');
    await enrollTotp(emu.url, scenario.apiKey, 'stray-2');

    const stopped = await scenario.cli(['apply', '--auto-approve']);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /would lose 2 methods, more than --max-deletes 1/);
    assert.match(stopped.stderr, /--max-deletes 2/);
    assert.equal((await scenario.live()).methods.length, 3, 'nothing was removed');

    await applyOk(scenario, ['--max-deletes', '2']);
    assert.equal((await scenario.live()).methods.length, 1);
    await assertInvariants(scenario);
  });
});

test('primary: switched to another method', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, TWO);
    await applyOk(scenario);

    await scenario.setManifest(`      - { label: ci-bot, type: totp }\n      - { label: second, type: totp, primary: true }`);
    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /~ update totp method #\d+ "second": primary false -> true/);
    await applyOk(scenario);
    const live = await scenario.live();
    assert.deepEqual(
      live.methods.map((m: { label: string; is_primary: boolean }) => [m.label, m.is_primary]),
      [
        ['ci-bot', false],
        ['second', true],
      ],
    );
    await assertConverged(scenario);
  });
});

test('rotation: old seed retired until removed', async () => {
  let refuseDeletes = false;
  const refuseDelete: Middleware = async (request, _route, next) => {
    if (refuseDeletes && request.method === 'DELETE') return { status: 403, body: { error: 'team_user_forbidden', msg: 'refused by the test' } };
    return next();
  };
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);
    const before = (await scenario.live()).methods[0];

    // The removal is refused, so the rotation stops between its two halves.
    refuseDeletes = true;
    const halfway = await scenario.cli(['apply', '--auto-approve', '--rotate', 'acct/ci-bot']);
    assert.equal(halfway.code, 1);
    assert.match(halfway.stderr, /team_user_forbidden/);
    const records = await scenario.record();
    assert.deepEqual(
      records.methods.map((r) => [r.methodId === before.id ? 'old' : 'new', r.state]),
      [
        ['old', 'retired'],
        ['new', 'active'],
      ],
    );
    assert.equal((await scenario.live()).methods.length, 2);
    await assertInvariants(scenario);

    // The next plan finishes the rotation; only then does the old seed leave the store.
    refuseDeletes = false;
    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, new RegExp(`- delete totp method #${before.id} "ci-bot"`));
    assert.match(plan.stdout, /replaced by a rotation/);
    await applyOk(scenario);

    const live = await scenario.live();
    assert.equal(live.methods.length, 1);
    assert.notEqual(live.methods[0].id, before.id);
    assert.equal(live.methods[0].is_primary, true);
    const record = await scenario.record();
    assert.deepEqual(record.methods.map((r) => r.state), ['active']);
    assert.notEqual(record.methods[0]?.seed, before.secret);
    await assertConverged(scenario);
    await assertInvariants(scenario);
  }, { middlewares: [refuseDelete] });
});

test('rotation: completes in one apply', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);
    const before = (await scenario.live()).methods[0];

    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /No changes/);
    await applyOk(scenario, ['--rotate', 'acct/ci-bot']);
    const live = await scenario.live();
    assert.equal(live.methods.length, 1);
    assert.notEqual(live.methods[0].id, before.id);
    assert.equal(live.methods[0].label, 'ci-bot');
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('adoption: stored seed gets its id', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);

    // A run that stored a seed as pending and died after the server confirmed it.
    const setup = await callApi(emu.url, scenario.apiKey, 'POST', '/api/v0/tfa/totp-setup/', {});
    const seed: string = setup.body.secret;
    await scenario.writeRecord((record) => {
      const time = new Date().toISOString();
      record.methods.push({ label: 'second', type: 'totp', seed, methodId: null, state: 'pending', createdAt: time, updatedAt: time });
    });
    const authorize = await callApi(emu.url, scenario.apiKey, 'POST', '/api/v0/tfa/authorize-new-method/', { backup_code: (await scenario.record()).backupCodes[0]?.code });
    assert.equal(authorize.status, 200);
    await scenario.writeRecord((record) => {
      const first = record.backupCodes[0];
      if (first) first.used = true;
    });
    const confirm = await callApi(emu.url, scenario.apiKey, 'POST', '/api/v0/tfa/confirm-new/', {
      tfa_method: 'totp', secret: seed, label: 'second', code: await totpCode(seed, await emulatorNow(emu.url)),
    });
    assert.equal(confirm.status, 200);
    const methodsBefore = (await scenario.live()).methods.length;

    await scenario.setManifest(TWO);
    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /adopt totp method #\d+ "second"/);
    await applyOk(scenario);
    assert.equal((await scenario.live()).methods.length, methodsBefore, 'nothing was enrolled');
    const record = await scenario.record();
    assert.equal(record.methods.find((r) => r.label === 'second')?.state, 'active');
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('repair: method without seed replaced', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    const outside = await enrollTotp(emu.url, scenario.apiKey, 'ci-bot');
    await scenario.writeRecord((record) => {
      record.backupCodes = (outside.backupCodes ?? []).map((code) => ({ code, used: false }));
    });

    const plan = await scenario.cli(['plan']);
    assert.match(plan.stdout, /repair totp method #\d+ "ci-bot"/);
    assert.match(plan.stdout, /the store holds no seed/);
    await applyOk(scenario);

    const live = await scenario.live();
    assert.equal(live.methods.length, 1);
    assert.notEqual(live.methods[0].id, outside.methodId);
    assert.equal(live.methods[0].label, 'ci-bot');
    await assertConverged(scenario);
    await assertInvariants(scenario);
  });
});

test('import: three methods round-trip', async () => {
  await withEmulator(async (emu) => {
    const methods = `${TWO}
      - label: oncall
        type: sms
        phone: "+12125551234"
        codes: { command: node read-outbox.mjs sms, timeoutSeconds: 10 }`;
    const scenario = await startScenario(emu, methods);
    await applyOk(scenario);

    const imported = await scenario.cli(['import', '--account', 'acct'], { VAST_API_KEY: scenario.apiKey });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /label: "ci-bot"\n {8}type: totp\n {8}primary: true/);
    assert.match(imported.stdout, /phone: "\+10000001234" {2}# FILL IN: the full E\.164 number; the account shows \*+1234/);
    assert.doesNotMatch(imported.stdout, /plan will propose a repair/);

    await writeFile(join(scenario.dir, 'tfa-gitops.yaml'), imported.stdout);
    const plan = await scenario.cli(['plan', '--detailed-exitcode'], { VAST_API_KEY: scenario.apiKey });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /No changes\./);
  });
});

test('import: unknown seed and label named', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await enrollTotp(emu.url, scenario.apiKey);
    await enrollSms(emu.url, scenario.apiKey, '+447700900123', 'phone');

    const imported = await scenario.cli(['import', '--account', 'acct'], { VAST_API_KEY: scenario.apiKey });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /label: "totp-\d+" {2}# FILL IN: the method has no label/);
    assert.match(imported.stdout, /plan will propose a repair/);

    await writeFile(join(scenario.dir, 'tfa-gitops.yaml'), imported.stdout);
    const validate = await scenario.cli(['validate']);
    assert.equal(validate.code, 0, validate.stderr);
    const plan = await scenario.cli(['plan'], { VAST_API_KEY: scenario.apiKey });
    assert.match(plan.stdout, /-\/\+ repair totp method #\d+ "totp-\d+"/);
    assert.doesNotMatch(plan.stdout, /\+ create/);
    assert.doesNotMatch(plan.stdout, /not in the manifest/);
  });
});
