import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../src/cli/main.js';
import { withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { liveAccount, makeFleet, manifestFile } from './helpers/fleet.js';

const BAD_KEY = 'rejected-key-000000000000000wxyz';

test('fleet: rejected key fails alone', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 4);
    const env = { ...fleet.env, [fleet.byName('svc-02').keyVariable]: BAD_KEY };
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env });

    const plan = await cli(['plan', '-f', 'manifests', '--format', 'json']);
    assert.equal(plan.code, 1);
    const document = JSON.parse(plan.stdout);
    assert.deepEqual(document.accounts.map((a: { account: string }) => a.account), ['svc-01', 'svc-03', 'svc-04']);
    for (const account of document.accounts) assert.deepEqual(account.actions.map((a: { kind: string }) => a.kind), ['create']);
    assert.equal(document.failed.length, 1);
    assert.equal(document.failed[0].account, 'svc-02');
    assert.match(document.failed[0].error, /auth_error/);
    assert.match(document.failed[0].error, /\.\.\.wxyz/);
    assert.match(plan.stderr, /Error: account "svc-02": .*403 auth_error/);
    assert.ok(!plan.stdout.includes(BAD_KEY), 'stdout has no whole key');
    assert.ok(!plan.stderr.includes(BAD_KEY), 'stderr has no whole key');

    const apply = await cli(['apply', '-f', 'manifests', '--auto-approve', '--quiet']);
    assert.equal(apply.code, 1);
    assert.match(apply.stdout, /Apply finished with errors! 3 added, 0 changed, 0 removed; 1 account\(s\) failed\./);
    assert.match(apply.stdout, /Failed accounts:\n {2}x svc-02: .*auth_error/);
    for (const name of ['svc-01', 'svc-03', 'svc-04']) {
      assert.equal((await liveAccount(emu.url, fleet.byName(name).id)).methods.length, 1, `${name} was applied`);
    }
    assert.equal((await liveAccount(emu.url, fleet.byName('svc-02').id)).methods.length, 0);

    const drift = await cli(['drift', '-f', 'manifests', '--format', 'json', '--detailed-exitcode']);
    assert.equal(drift.code, 1, 'a failed account wins over drift');
    const report = JSON.parse(drift.stdout);
    assert.deepEqual(
      report.accounts.map((a: { account: string; status: string }) => `${a.account} ${a.status}`),
      ['svc-01 in-sync', 'svc-02 failed', 'svc-03 in-sync', 'svc-04 in-sync'],
    );
    assert.match(report.accounts[1].error, /auth_error/);

    const human = await cli(['drift', '-f', 'manifests']);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /Failed: 1 account\(s\) could not be read:\n {2}x svc-02: /);
    assert.match(human.stdout, /Drift: 0 drifted, 3 in sync, 1 failed; 0 finding\(s\)\./);
  });
});

test('fleet: missing key variable fails alone', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 3);
    const env = { ...fleet.env };
    delete env[fleet.byName('svc-03').keyVariable];

    const result = await runCli(['plan', '-f', 'manifests', '--format', 'json'], { cwd: fleet.dir, env });
    assert.equal(result.code, 1);
    const document = JSON.parse(result.stdout);
    assert.deepEqual(document.accounts.map((a: { account: string }) => a.account), ['svc-01', 'svc-02']);
    assert.deepEqual(document.failed, [
      { account: 'svc-03', error: "account \"svc-03\": environment variable KEY_SVC_03 is not set; export KEY_SVC_03 with the account's API key" },
    ]);
  });
});

test('fleet: account globs select', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 12, 4);
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });

    const some = await cli(['plan', '-f', 'manifests', '--json', '--account', 'svc-1?', '--account', 'svc-03']);
    assert.equal(some.code, 0, some.stderr);
    assert.deepEqual(JSON.parse(some.stdout).accounts.map((a: { account: string }) => a.account), ['svc-03', 'svc-10', 'svc-11', 'svc-12']);

    const none = await cli(['plan', '-f', 'manifests', '--account', 'web-*']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /--account "web-\*" matches no account in the manifest/);
  });
});

test('fleet: shards cover every account', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 12, 4);
    const seen: string[] = [];
    for (const shard of ['1/3', '2/3', '3/3']) {
      const result = await runCli(['drift', '-f', 'manifests', '--format', 'json', '--shard', shard], { cwd: fleet.dir, env: fleet.env });
      assert.equal(result.code, 0, result.stderr);
      seen.push(...JSON.parse(result.stdout).accounts.map((a: { account: string }) => a.account));
    }
    assert.deepEqual(seen.sort(), fleet.accounts.map((a) => a.name));

    const invalid = await runCli(['drift', '-f', 'manifests', '--shard', '4/3'], { cwd: fleet.dir, env: fleet.env });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /--shard takes K\/N/);
  });
});

test('fleet: files given separately', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 6, 3);
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });

    const repeated = await cli(['plan', '--json', '-f', 'manifests/team-02.yaml', '-f', 'manifests/team-01.yaml']);
    assert.equal(repeated.code, 0, repeated.stderr);
    assert.deepEqual(
      JSON.parse(repeated.stdout).accounts.map((a: { account: string }) => a.account),
      ['svc-04', 'svc-05', 'svc-06', 'svc-01', 'svc-02', 'svc-03'],
    );

    const listed = await cli(['plan', '--json', '-f', 'manifests/team-01.yaml', 'manifests/team-02.yaml']);
    assert.equal(JSON.parse(listed.stdout).accounts.length, 6);
  });
});

test('fleet: duplicate name names both files', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 4, 2);
    await writeFile(join(fleet.dir, 'manifests', 'team-03.yaml'), manifestFile(['svc-09', 'svc-02']));

    const result = await runCli(['drift', '-f', 'manifests'], { cwd: fleet.dir, env: fleet.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /account name "svc-02" is used twice, at manifests\/team-01\.yaml:\d+ and here/);
    assert.match(result.stderr, /manifests\/team-03\.yaml:\d+:\d+/);
  });
});

test('fleet: parallelism validated', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 3);
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });

    const serial = await cli(['apply', '-f', 'manifests', '--auto-approve', '--parallelism', '1', '--quiet']);
    assert.equal(serial.code, 0, serial.stderr);
    const order = [...serial.stderr.matchAll(/^apply: account=(\S+) step="create/gm)].map((m) => m[1]);
    assert.deepEqual(order, ['svc-01', 'svc-02', 'svc-03'], 'one account at a time, in manifest order');

    for (const bad of ['0', '-2', '1.5', 'many']) {
      const result = await cli(['plan', '-f', 'manifests', '--parallelism', bad]);
      assert.equal(result.code, 1, bad);
      assert.match(result.stderr, /--parallelism takes a whole number from 1 to 256/);
    }
  });
});

test('fleet: progress lines and quiet', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 10);
    const cli = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });

    const plain = await cli(['plan', '-f', 'manifests']);
    const lines = plain.stderr.split('\n').filter((line) => line.startsWith('progress: '));
    assert.equal(lines.length, 10, plain.stderr);
    assert.equal(lines.at(-1), 'progress: phase=plan done=10 total=10 failed=0');

    const quiet = await cli(['plan', '-f', 'manifests', '--quiet']);
    assert.doesNotMatch(quiet.stderr, /progress/);

    const single = await cli(['plan', '-f', 'manifests', '--account', 'svc-01']);
    assert.doesNotMatch(single.stderr, /progress/, 'one account shows no progress');
  });
});

test('fleet: terminal progress line', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 3);
    let stderr = '';
    let stdout = '';
    const code = await run(['drift', '-f', 'manifests'], {
      stdout: { write: (text: string) => void (stdout += text) },
      stderr: { write: (text: string) => void (stderr += text), isTTY: true },
      env: { PATH: process.env.PATH, HOME: fleet.dir, NO_COLOR: '1', ...fleet.env },
      cwd: fleet.dir,
      interactive: false,
    });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /\r\u001b\[2Kplan: 0\/3 accounts/);
    assert.match(stderr, /\r\u001b\[2Kplan: 3\/3 accounts/);
    assert.ok(stderr.endsWith('\r\u001b[2K'), 'the line is cleared at the end');
    assert.doesNotMatch(stdout, /\u001b/, 'stdout has no progress');
  });
});
