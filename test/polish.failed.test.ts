import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { makeFleet } from './helpers/fleet.js';

const BAD_KEY = 'rejected-key-000000000000000wxyz';

test('plan human: lists failed accounts', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 3);
    const env = { ...fleet.env, [fleet.byName('svc-02').keyVariable]: BAD_KEY };
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env });

    const changes = await cli(['plan', '-f', 'manifests', '--quiet']);
    assert.equal(changes.code, 1);
    assert.match(changes.stdout, /^Plan: 2 to add, 0 to change, 0 to remove; 1 account failed: see the errors on stderr\.$/m);
    assert.match(changes.stdout, /^Failed: 1 account\(s\) could not be read:\n {2}x svc-02: .*auth_error/m);

    const applied = await cli(['apply', '-f', 'manifests', '--auto-approve', '--quiet']);
    assert.equal(applied.code, 1);
    const quiet = await cli(['plan', '-f', 'manifests', '--quiet']);
    assert.equal(quiet.code, 1);
    assert.doesNotMatch(quiet.stdout, /The accounts? matches? the manifest/);
    assert.match(quiet.stdout, /^No changes in 2 accounts; 1 account failed: see the errors on stderr\.$/m);
    assert.match(quiet.stdout, /^ {2}x svc-02: /m);

    const none = await cli(['plan', '-f', 'manifests', '--quiet', '--account', 'svc-02']);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /^No account could be planned; 1 account failed: see the errors on stderr\.$/m);
    assert.match(none.stdout, /^ {2}x svc-02: /m);
  });
});

test('plan human: all good says so', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 2);
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });

    assert.equal((await cli(['apply', '-f', 'manifests', '--auto-approve', '--quiet'])).code, 0);
    const plan = await cli(['plan', '-f', 'manifests', '--quiet']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^No changes\. The accounts match the manifest\.$/m);
    assert.doesNotMatch(plan.stdout, /Failed/);
  });
});
