/**
 * The demo's flow (plan, apply, plan) with its manifest and email-code script unchanged except
 * for the `store:` line, against the emulator, once per kind of writable store. env:// is
 * read-only: it plans an applied account with no changes and rejects an apply that must write.
 */

import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { openStore, type AccountRecord } from '../src/store/index.js';
import { runCli } from './helpers/cli.js';
import { createAccount, readOutbox, readState, withEmulator } from './helpers/emulator.js';
import { withFakeVault } from './helpers/vault-server.js';

const DEMO = fileURLToPath(new URL('../../examples/demo', import.meta.url));
const HELPER = fileURLToPath(new URL('../../examples/store-helper/folder-store.mjs', import.meta.url));
const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

/** Copies the demo folder and points its manifest at `store`. */
async function demoFolder(store: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-store-demo-'));
  folders.push(folder);
  await cp(DEMO, folder, { recursive: true });

  const manifestPath = join(folder, 'tfa-gitops.yaml');
  const manifest = await readFile(manifestPath, 'utf8');
  const storeLine = /^store: .*$/m;
  assert.match(manifest, storeLine, 'the demo manifest names its store on one line');
  await writeFile(manifestPath, manifest.replace(storeLine, `store: ${store}`));
  return folder;
}

interface LiveMethod {
  id: number;
  label: string;
  method: string;
  is_primary: boolean;
  secret: string;
}

/** The emulator and the demo account, for checks that run after the demo and before the emulator stops. */
interface DemoContext {
  emulatorUrl: string;
  apiKey: string;
  record: AccountRecord;
}

/** Runs plan, apply and plan as `npm run demo` does, then checks the account against the stored record. */
async function runDemo(store: string, storeEnv: NodeJS.ProcessEnv, afterDemo?: (context: DemoContext) => Promise<void>): Promise<AccountRecord> {
  return withEmulator(async (emulator) => {
    const account = await createAccount(emulator.url, 'demo@example.com', true);
    const folder = await demoFolder(store);
    const env = { VAST_URL: emulator.url, VAST_API_KEY_DEMO: account.apiKey, ...storeEnv };
    // Running from the parent folder shows that paths in the store URL are the manifest's.
    const cwd = dirname(folder);
    const manifest = ['-f', join(basename(folder), 'tfa-gitops.yaml')];

    const plan = await runCli(['plan', '--detailed-exitcode', ...manifest], { cwd, env });
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(plan.stdout, /\+ create totp method "ci-bot" \(primary\)/);

    const apply = await runCli(['apply', '--auto-approve', ...manifest], { cwd, env });
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /Apply complete! 1 added, 0 changed, 0 removed\./);

    const again = await runCli(['plan', '--detailed-exitcode', ...manifest], { cwd, env });
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.match(again.stdout, /No changes\./);

    const state = await readState(emulator.url);
    const live = state.accounts.find((candidate: { id: number }) => candidate.id === account.id);
    const method = live.methods.find((candidate: LiveMethod) => candidate.label === 'ci-bot') as LiveMethod;
    assert.equal(method.method, 'totp');
    assert.equal(method.is_primary, true);

    const opened = await openStore(store, { env, baseDir: folder });
    const { record } = await opened.read('demo');
    await opened.close();
    assert.equal(record.methods[0]?.seed, method.secret);
    assert.equal(record.methods[0]?.state, 'active');
    assert.deepEqual(
      record.backupCodes.map((code) => code.code).sort(),
      live.backup_codes.map((code: { code: string }) => code.code).sort(),
    );
    assert.equal(record.lock, undefined, 'the apply lock is released');

    await afterDemo?.({ emulatorUrl: emulator.url, apiKey: account.apiKey, record });
    return record;
  });
}

describe('demo flow with each store', () => {
  it('runs with the Vault store', async () => {
    await withFakeVault(async (vault) => {
      const record = await runDemo('vault://secret/tfa-gitops', { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken });

      assert.deepEqual(vault.secret('secret', 'tfa-gitops/demo'), { formatVersion: 1, record });
      assert.ok(vault.version('secret', 'tfa-gitops/demo') >= 3, 'the lock, the seed and the codes were separate writes');
      const tokens = vault.requests.map((request) => JSON.stringify(request.headers['x-vault-token']));
      assert.ok(tokens.every((token) => token === JSON.stringify(vault.rootToken)));
    });
  });

  it('runs with the exec store', async () => {
    const command = `exec://node ${HELPER.replace(/ /g, '\\ ')} --dir records`;
    const record = await runDemo(command, { PATH: process.env['PATH'] });
    assert.equal(record.methods.length, 1);
  });

  it('plans with the env store and rejects writes', async () => {
    await withFakeVault(async (vault) => {
      await runDemo('vault://secret/tfa-gitops', { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken }, async ({ emulatorUrl, apiKey, record }) => {
        const folder = await demoFolder('env://TFA_DEMO');
        const env = { VAST_URL: emulatorUrl, VAST_API_KEY_DEMO: apiKey, TFA_DEMO_DEMO_RECORD: JSON.stringify(record) };

        const plan = await runCli(['plan', '--detailed-exitcode'], { cwd: folder, env });
        assert.equal(plan.code, 0, plan.stderr + plan.stdout);
        assert.match(plan.stdout, /No changes\./);
      });
    });

    await withEmulator(async (emulator) => {
      // A new account needs its first method, whose seed apply could not store in env://.
      const account = await createAccount(emulator.url, 'demo@example.com', true);
      const folder = await demoFolder('env://TFA_DEMO');
      const env = { VAST_URL: emulator.url, VAST_API_KEY_DEMO: account.apiKey };

      const apply = await runCli(['apply', '--auto-approve'], { cwd: folder, env });
      assert.equal(apply.code, 1, apply.stdout);
      assert.match(apply.stderr, /Cannot apply: the store env:\/\/TFA_DEMO is read-only/);
      assert.match(apply.stderr, /the record of account "demo"/);
      assert.deepEqual(await readOutbox(emulator.url, account.apiKey), [], 'no email code was requested');
      const live = (await readState(emulator.url)).accounts.find((candidate: { id: number }) => candidate.id === account.id);
      assert.deepEqual(live.methods, []);
    });
  });
});
