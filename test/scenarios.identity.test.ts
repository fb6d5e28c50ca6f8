import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callApi, createAccount, enrollTotp, readState, withEmulator } from './helpers/emulator.js';
import { applyOk, assertInvariants, startScenario } from './helpers/scenario.js';

const CI_BOT = '      - { label: ci-bot, type: totp, primary: true }';

test('identity: key of another account rejected', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);
    assert.equal((await scenario.record()).userId, scenario.accountId, 'the record names its Vast user');

    // Another account's key given for "acct" by mistake: first while that account has no method.
    const other = await createAccount(emu.url, 'other@example.com');
    const empty = await scenario.cli(['apply', '--auto-approve'], { TEST_API_KEY: other.apiKey });
    assert.equal(empty.code, 1);
    assert.match(empty.stdout, /the account has no 2FA method, but the store records 1 active method\(s\) of "acct"/);
    assert.match(empty.stdout, /tfa-gitops store retire acct/);

    // Then while it has a method of its own, which shows its user id.
    const outside = await enrollTotp(emu.url, other.apiKey, 'theirs');
    const plan = await scenario.cli(['plan'], { TEST_API_KEY: other.apiKey });
    assert.equal(plan.code, 1);
    assert.match(plan.stdout, new RegExp(`the API key reaches Vast user #${other.id}, but the store's record of "acct" belongs to user #${scenario.accountId}`));
    assert.doesNotMatch(plan.stdout, /\+ create/);

    const apply = await scenario.cli(['apply', '--auto-approve'], { TEST_API_KEY: other.apiKey });
    assert.equal(apply.code, 1);
    const after = (await readState(emu.url)).accounts.find((a: { id: number }) => a.id === other.id);
    assert.deepEqual(after.methods.map((m: { id: number }) => m.id), [outside.methodId], 'the other account is unchanged');
    await assertInvariants(scenario);
  });
});

test('identity: reset account retired then enrolled', async () => {
  await withEmulator(async (emu) => {
    const scenario = await startScenario(emu, CI_BOT);
    await applyOk(scenario);

    // 2FA is turned off outside the tool: the last method goes with a backup code.
    const record = await scenario.record();
    const methodId = (await scenario.live()).methods[0].id;
    const removed = await callApi(emu.url, scenario.apiKey, 'DELETE', '/api/v0/tfa/', { backup_code: record.backupCodes[0]?.code, target_id: methodId });
    assert.equal(removed.status, 200);

    const blocked = await scenario.cli(['plan']);
    assert.equal(blocked.code, 1);
    const retire = await scenario.cli(['store', 'retire', 'acct']);
    assert.equal(retire.code, 0, retire.stderr);
    assert.match(retire.stdout, /Retired 1 seed\(s\) and 10 backup code\(s\) of account "acct"/);

    await applyOk(scenario);
    const after = await scenario.record();
    assert.deepEqual(after.methods.map((r) => r.state), ['retired', 'active']);
    await assertInvariants(scenario);
  });
});
