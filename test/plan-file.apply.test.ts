import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { callApi, readState, withEmulator } from './helpers/emulator.js';
import { runCli } from './helpers/cli.js';
import { accountYaml, liveAccount, makeFleet, manifestFile } from './helpers/fleet.js';
import { openStore } from '../src/store/open.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
const root = join(import.meta.dirname, '..', '..');

async function validatePlan(document: unknown): Promise<void> {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, validateFormats: false });
  const validate = ajv.compile(JSON.parse(await readFile(join(root, 'schemas', 'plan.schema.json'), 'utf8')));
  assert.ok(validate(document), JSON.stringify(validate.errors, null, 2));
}

/** Returns every secret the emulator stores: API keys, TOTP seeds, backup codes. */
async function emulatorSecrets(url: string): Promise<string[]> {
  const state = await readState(url);
  const secrets: string[] = [];
  for (const account of state.accounts) {
    secrets.push(account.api_key);
    for (const method of account.methods) if (method.secret) secrets.push(method.secret);
    for (const code of account.backup_codes) secrets.push(code.code);
  }
  return secrets;
}

test('plan file: fresh plan applies once', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 3);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });

    const plan = await run(['plan', '-f', 'manifests', '--out', 'plan.json']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /Saved the plan to plan\.json\. To apply exactly this plan, run: tfa-gitops apply plan\.json/);

    const path = join(fleet.dir, 'plan.json');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const saved = JSON.parse(await readFile(path, 'utf8'));
    await validatePlan(saved);
    assert.deepEqual(saved.saved.manifestFiles, ['manifests']);
    assert.equal(saved.saved.applied, null);
    assert.deepEqual(Object.keys(saved.saved.accounts).sort(), ['svc-01', 'svc-02', 'svc-03']);
    assert.equal(saved.saved.accounts['svc-01'].storeVersion, 0);
    assert.match(saved.saved.accounts['svc-01'].statusSha256, /^[0-9a-f]{64}$/);

    // No --auto-approve and no terminal: the saved plan is the approval.
    const applied = await run(['apply', 'plan.json']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /Apply complete! 3 added, 0 changed, 0 removed\./);
    for (const account of fleet.accounts) {
      const live = await liveAccount(emu.url, account.id);
      assert.deepEqual(live.methods.map((m: { label: string }) => m.label), ['ci-bot']);
    }

    const marked = JSON.parse(await readFile(path, 'utf8'));
    await validatePlan(marked);
    assert.match(marked.saved.applied.startedAt, /^\d{4}-\d\d-\d\dT/);
    assert.match(marked.saved.applied.finishedAt, /^\d{4}-\d\d-\d\dT/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const text = await readFile(path, 'utf8');
    for (const secret of await emulatorSecrets(emu.url)) assert.ok(!text.includes(secret), 'the plan file holds no secret');

    const again = await run(['apply', 'plan.json']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /the plan file plan\.json was already applied \(started .*\); a saved plan applies once/);
    assert.match(again.stderr, /run "tfa-gitops plan --out FILE" again/);
  });
});

test('plan file: unmarked copy refused after apply', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 2);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    assert.equal((await run(['plan', '-f', 'manifests', '--out', 'plan.json'])).code, 0);
    // A CI job may download the same artifact again, without the mark the first apply wrote.
    await copyFile(join(fleet.dir, 'plan.json'), join(fleet.dir, 'artifact.json'));

    assert.equal((await run(['apply', 'plan.json'])).code, 0);
    const second = await run(['apply', 'artifact.json']);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /the plan file artifact\.json no longer matches/);
    assert.match(second.stderr, /account "svc-01": its live 2FA status changed, its store record changed \(version 0 when planned, \d+ now\)/);
    assert.match(second.stderr, /account "svc-02": /);
    for (const account of fleet.accounts) {
      assert.equal((await liveAccount(emu.url, account.id)).methods.length, 1, 'nothing was enrolled twice');
    }
  });
});

test('plan file: live change refused', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 3);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    assert.equal((await run(['apply', '-f', 'manifests', '--auto-approve', '--quiet'])).code, 0);

    // svc-02 gets a second method in the manifest, so the plan has something to do.
    const manifest = manifestFile(['svc-01', 'svc-03']) + accountYaml('svc-02').replace(
      '      - { label: ci-bot, type: totp, primary: true }\n',
      '      - { label: ci-bot, type: totp, primary: true }\n      - { label: second, type: totp }\n',
    );
    await writeFile(join(fleet.dir, 'manifests', 'team-01.yaml'), manifest);
    const plan = await run(['plan', '-f', 'manifests', '--out', 'plan.json', '--detailed-exitcode']);
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stdout, /\+ create totp method "second"/);

    // Another client renames svc-01's method between plan and apply.
    const renamed = fleet.byName('svc-01');
    const method = (await liveAccount(emu.url, renamed.id)).methods[0];
    assert.equal((await callApi(emu.url, renamed.apiKey, 'PUT', '/api/v0/tfa/update/', { tfa_method_id: method.id, label: 'renamed' })).status, 200);

    const applied = await run(['apply', 'plan.json']);
    assert.equal(applied.code, 1);
    assert.match(applied.stderr, /the plan file plan\.json no longer matches: account "svc-01": its live 2FA status changed/);
    assert.doesNotMatch(applied.stderr, /svc-02"?:/, 'the unchanged accounts are not named');
    const second = await liveAccount(emu.url, fleet.byName('svc-02').id);
    assert.deepEqual(second.methods.map((m: { label: string }) => m.label), ['ci-bot'], 'nothing was applied');
    const file = JSON.parse(await readFile(join(fleet.dir, 'plan.json'), 'utf8'));
    assert.equal(file.saved.applied, null, 'a refused plan is not marked');
  });
});

test('plan file: store change refused', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 2);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    assert.equal((await run(['apply', '-f', 'manifests', '--auto-approve', '--quiet'])).code, 0);
    assert.equal((await run(['plan', '-f', 'manifests', '--out', 'plan.json'])).code, 0);

    const store = await openStore(pathToFileURL(join(fleet.dir, '.tfa-gitops', 'secrets.age')).href, { env: {} });
    try {
      const { record, version } = await store.read('svc-02');
      await store.write('svc-02', record, version);
    } finally {
      await store.close();
    }

    const applied = await run(['apply', 'plan.json']);
    assert.equal(applied.code, 1);
    assert.match(applied.stderr, /account "svc-02": its store record changed \(version (\d+) when planned, \d+ now\)/);
    assert.doesNotMatch(applied.stderr, /live 2FA status changed/);
  });
});

test('plan file: manifest change refused', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 2);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    assert.equal((await run(['plan', '-f', 'manifests', '--out', 'plan.json'])).code, 0);

    const path = join(fleet.dir, 'manifests', 'team-01.yaml');
    await writeFile(path, (await readFile(path, 'utf8')).replace('minRemaining: 8', 'minRemaining: 5'));
    const applied = await run(['apply', 'plan.json']);
    assert.equal(applied.code, 1);
    assert.match(applied.stderr, /account "svc-01": its manifest entry changed/);
    assert.equal((await liveAccount(emu.url, fleet.byName('svc-01').id)).methods.length, 0);
  });
});

test('plan file: selection flags rejected', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 1);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    assert.equal((await run(['plan', '-f', 'manifests', '--out', 'plan.json'])).code, 0);

    const result = await run(['apply', 'plan.json', '--account', 'svc-01']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--account cannot be used with a plan file/);
  });
});

test('plan file: printed plan rejected', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 1);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    const printed = await run(['plan', '-f', 'manifests', '--json']);
    await writeFile(join(fleet.dir, 'printed.json'), printed.stdout);

    const result = await run(['apply', 'printed.json']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /printed\.json is not a plan file that tfa-gitops can apply: it was printed, not saved with --out/);

    const missing = await run(['apply', 'nope.json']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the plan file .*nope\.json \(ENOENT\)/);
  });
});

test('plan file: rotation applies as planned', async () => {
  await withEmulator(async (emu) => {
    const fleet = await makeFleet(emu.url, 1);
    // Email verifies both steps, so the test never waits for a fresh TOTP step.
    const manifest = manifestFile([]).replace('accounts:\n', `accounts:\n${accountYaml('svc-01', '    verifyWith: [email, totp, backupCode]\n')}`);
    await writeFile(join(fleet.dir, 'manifests', 'team-01.yaml'), manifest);
    const run = (args: string[]) => runCli(args, { cwd: fleet.dir, env: fleet.env });
    assert.equal((await run(['apply', '-f', 'manifests', '--auto-approve'])).code, 0);
    const before = (await liveAccount(emu.url, fleet.byName('svc-01').id)).methods[0];

    const plan = await run(['plan', '-f', 'manifests', '--rotate', 'svc-01/ci-bot', '--out', 'plan.json']);
    assert.equal(plan.code, 0, plan.stderr);
    const saved = JSON.parse(await readFile(join(fleet.dir, 'plan.json'), 'utf8'));
    assert.deepEqual(saved.saved.accounts['svc-01'].rotate, ['ci-bot']);
    assert.deepEqual(saved.accounts[0].actions.map((a: { kind: string }) => a.kind), ['rotate']);

    const applied = await run(['apply', 'plan.json']);
    assert.equal(applied.code, 0, applied.stderr);
    const after = (await liveAccount(emu.url, fleet.byName('svc-01').id)).methods;
    assert.equal(after.length, 1);
    assert.equal(after[0].label, 'ci-bot');
    assert.notEqual(after[0].id, before.id);
    assert.notEqual(after[0].secret, before.secret);
  });
});
