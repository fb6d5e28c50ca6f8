import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import { storeMigrateCommand } from '../src/cli/commands/store.js';
import type { CliIo } from '../src/cli/io.js';
import { migrateStore, openStore, StoreError, type AccountRecord, type SecretStore } from '../src/store/index.js';
import { runCli } from './helpers/cli.js';
import { withFakeVault, type FakeVault } from './helpers/vault-server.js';

const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-store-migrate-'));
  folders.push(folder);
  return folder;
}

/** Records with every optional field, so a migration that drops one fails the comparison. */
function records(): Record<string, AccountRecord> {
  return {
    'ml-prod': {
      methods: [
        { label: 'ci-bot', type: 'totp', seed: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', methodId: 11, state: 'active', createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-05T03:04:05.000Z', lastCodeStep: 59_000_123 },
        { label: 'old', type: 'totp', seed: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', methodId: 9, state: 'retired', createdAt: '2025-06-01T00:00:00.000Z', updatedAt: '2026-01-05T03:04:05.000Z' },
      ],
      smsChallenges: [{ destination: '+12125551234', secret: 'challenge-token-1', sentAt: '2026-01-05T03:04:05.000Z' }],
      backupCodes: [
        { code: 'a1b2c3d4', used: false },
        { code: 'e5f6a7b8', used: true, usedAt: '2026-01-04T00:00:00.000Z' },
      ],
      backupCodesIssuedAt: '2026-01-02T03:04:05.000Z',
      lock: { host: 'old-runner', pid: 77, startedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T00:15:00.000Z', token: 'expired-lock' },
    },
    'ml-dev': { methods: [], backupCodes: [] },
    'team.ops_2': {
      methods: [{ label: 'pending', type: 'totp', seed: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU', methodId: null, state: 'pending', createdAt: '2026-01-06T00:00:00.000Z', updatedAt: '2026-01-06T00:00:00.000Z' }],
      backupCodes: [],
    },
  };
}

async function fileStoreWith(contents: Record<string, AccountRecord>): Promise<{ store: SecretStore; url: string; path: string }> {
  const path = join(await tempFolder(), 'secrets.age');
  const url = pathToFileURL(path).href;
  const store = await openStore(url, { env: {} });
  for (const [account, record] of Object.entries(contents)) {
    await store.write(account, record, 0);
    // A second write, so that source versions differ from the destination's.
    await store.write(account, record, 1);
  }
  return { store, url, path };
}

function vaultEnv(vault: FakeVault): NodeJS.ProcessEnv {
  return { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken, HOME: '/nonexistent' };
}

async function readAll(store: SecretStore): Promise<Record<string, AccountRecord>> {
  const result: Record<string, AccountRecord> = {};
  for (const account of await store.list()) result[account] = (await store.read(account)).record;
  return result;
}

function captureIo(cwd: string, env: NodeJS.ProcessEnv): CliIo & { out: () => string; err: () => string } {
  let stdout = '';
  let stderr = '';
  return {
    stdout: { write: (text: string) => void (stdout += text) },
    stderr: { write: (text: string) => void (stderr += text) },
    env,
    cwd,
    interactive: false,
    out: () => stdout,
    err: () => stderr,
  };
}

describe('store migrate', () => {
  it('file to Vault and back keeps records', async () => {
    await withFakeVault(async (vault) => {
      const source = await fileStoreWith(records());
      const sourceBytes = await readFile(source.path);
      const vaultStore = await openStore('vault://secret/tfa', { env: vaultEnv(vault) });

      const toVault = await migrateStore(source.store, vaultStore);
      assert.deepEqual(
        toVault.map((result) => [result.account, result.outcome, result.sourceVersion, result.destinationVersion]),
        [
          ['ml-dev', 'copied', 2, 1],
          ['ml-prod', 'copied', 2, 1],
          ['team.ops_2', 'copied', 2, 1],
        ],
      );
      assert.deepEqual(await readAll(vaultStore), records());
      assert.deepEqual(await readFile(source.path), sourceBytes, 'the source file is unchanged');

      const back = await fileStoreWith({});
      await migrateStore(vaultStore, back.store);
      assert.deepEqual(await readAll(back.store), records());
      assert.deepEqual(await readAll(back.store), await readAll(source.store));
      assert.equal(vault.version('secret', 'tfa/ml-prod'), 1, 'the Vault source is unchanged');
      await vaultStore.close();
    });
  });

  it('rejects a different destination record', async () => {
    await withFakeVault(async (vault) => {
      const source = await fileStoreWith(records());
      const destination = await openStore('vault://secret/tfa', { env: vaultEnv(vault) });
      const theirs: AccountRecord = { methods: [], backupCodes: [{ code: 'zzzzzzzz', used: false }] };
      await destination.write('ml-prod', theirs, 0);

      await assert.rejects(migrateStore(source.store, destination), (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, 'store_migrate_conflict');
        assert.match(error.message, /different record for "ml-prod"\. Nothing was copied\./);
        assert.match(error.hint ?? '', /--force/);
        return true;
      });
      assert.deepEqual(await destination.list(), ['ml-prod'], 'no other account was copied');
      assert.deepEqual((await destination.read('ml-prod')).record, theirs);

      const forced = await migrateStore(source.store, destination, { force: true });
      assert.equal(forced.find((result) => result.account === 'ml-prod')?.outcome, 'replaced');
      assert.deepEqual(await readAll(destination), records());
      await destination.close();
    });
  });

  it('skips records the destination has', async () => {
    const source = await fileStoreWith(records());
    const destination = await fileStoreWith({ 'ml-dev': records()['ml-dev']! });

    const results = await migrateStore(source.store, destination.store);
    assert.deepEqual(results.map((result) => result.outcome), ['unchanged', 'copied', 'copied']);
    assert.equal((await destination.store.read('ml-dev')).version, 2, 'an unchanged record is not written');
  });

  it('rejects an account under a live lock', async () => {
    const live = records();
    live['ml-prod']!.lock = { host: 'runner', pid: 5, startedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T00:15:00.000Z', token: 'live' };
    const source = await fileStoreWith(live);
    const destination = await fileStoreWith({});

    await assert.rejects(
      migrateStore(source.store, destination.store, { nowMs: Date.parse('2026-01-01T00:05:00.000Z') }),
      (error: unknown) => error instanceof StoreError && error.code === 'store_migrate_locked' && /"ml-prod".*pid 5 on runner/.test(error.message),
    );
    assert.deepEqual(await destination.store.list(), []);
  });

  it('copies only named accounts', async () => {
    const source = await fileStoreWith(records());
    const destination = await fileStoreWith({});

    await migrateStore(source.store, destination.store, { accounts: ['team.ops_2'] });
    assert.deepEqual(await destination.store.list(), ['team.ops_2']);
    await assert.rejects(migrateStore(source.store, destination.store, { accounts: ['nobody'] }), (error: unknown) => error instanceof StoreError && error.code === 'store_migrate_missing');
  });

  it('copies from env with account names', async () => {
    const env = { TFA_CI_ML_PROD_RECORD: JSON.stringify(records()['ml-prod']) };
    const source = await openStore('env://TFA_CI', { env });
    const destination = await fileStoreWith({});

    await migrateStore(source, destination.store, { accounts: ['ml-prod'] });
    assert.deepEqual(await readAll(destination.store), { 'ml-prod': records()['ml-prod'] });
  });

  it('rejects a read-only destination', async () => {
    const source = await fileStoreWith(records());
    const destination = await openStore('env://TFA_CI', { env: {} });
    await assert.rejects(migrateStore(source.store, destination), (error: unknown) => error instanceof StoreError && error.code === 'store_read_only' && error.message.includes('env://TFA_CI'));
  });
});

describe('store migrate command', () => {
  it('prints each account and a summary', async () => {
    await withFakeVault(async (vault) => {
      const source = await fileStoreWith(records());
      const io = captureIo(join(source.path, '..'), vaultEnv(vault));

      const code = await storeMigrateCommand({ from: 'secrets.age', to: 'vault://secret/tfa' }, io);
      assert.equal(code, 0, io.err());
      assert.match(io.out(), /^copied {4}ml-dev \(source version 2, destination version 1\)$/m);
      assert.match(io.out(), /^copied {4}ml-prod /m);
      assert.match(io.out(), /Migrated 3 records from .*secrets\.age to vault:\/\/secret\/tfa .*: 3 copied, 0 replaced, 0 unchanged\. Each copy was read back and matches; the source was not changed\./);
      assert.doesNotMatch(io.out() + io.err(), /GEZDGNBVGY3TQOJQ|a1b2c3d4/, 'no seed or code is printed');

      const again = captureIo(io.cwd, io.env);
      assert.equal(await storeMigrateCommand({ from: 'file://secrets.age', to: 'vault://secret/tfa' }, again), 0);
      assert.match(again.out(), /^unchanged ml-prod \(the destination has the same record\)$/m);
    });
  });

  it('rejects the same store on both sides', async () => {
    const folder = await tempFolder();
    await assert.rejects(
      storeMigrateCommand({ from: 'secrets.age', to: `file://${join(folder, 'secrets.age')}` }, captureIo(folder, {})),
      (error: unknown) => error instanceof StoreError && error.code === 'store_migrate_same',
    );
  });
});

describe('tfa-gitops store migrate', () => {
  it('moves records to Vault and back', async () => {
    await withFakeVault(async (vault) => {
      const source = await fileStoreWith(records());
      const folder = join(source.path, '..');
      const env = vaultEnv(vault);

      const toVault = await runCli(['store', 'migrate', '--from', 'secrets.age', '--to', 'vault://secret/tfa'], { cwd: folder, env });
      assert.equal(toVault.code, 0, toVault.stderr);
      const fromVault = await runCli(['store', 'migrate', '--from', 'vault://secret/tfa', '--to', 'file://copy/secrets.age'], { cwd: folder, env });
      assert.equal(fromVault.code, 0, fromVault.stderr);
      assert.match(fromVault.stderr, /^store: message=.*identity/m, 'the new file store announces its identity file');

      const copy = await openStore(pathToFileURL(join(folder, 'copy', 'secrets.age')).href, { env: {} });
      assert.deepEqual(await readAll(copy), records());
      assert.deepEqual(await readAll(copy), await readAll(source.store));
    });
  });

  it('copies the named accounts', async () => {
    const source = await fileStoreWith(records());
    const folder = join(source.path, '..');

    const result = await runCli(['store', 'migrate', '--from', 'secrets.age', '--to', 'other.age', '--account', 'ml-prod', '--account', 'ml-dev'], { cwd: folder });
    assert.equal(result.code, 0, result.stderr);
    const other = await openStore(pathToFileURL(join(folder, 'other.age')).href, { env: {} });
    assert.deepEqual(await other.list(), ['ml-dev', 'ml-prod']);
  });

  it('prints a conflict with its hint', async () => {
    const source = await fileStoreWith(records());
    const folder = join(source.path, '..');
    const destination = await openStore(pathToFileURL(join(folder, 'other.age')).href, { env: {} });
    await destination.write('ml-dev', { methods: [], backupCodes: [{ code: 'zzzzzzzz', used: false }] }, 0);

    const result = await runCli(['store', 'migrate', '--from', 'secrets.age', '--to', 'other.age'], { cwd: folder });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^Error: Cannot migrate to .*other\.age: it already contains a different record for "ml-dev"\. Nothing was copied\.$/m);
    assert.match(result.stderr, /--force/);
    assert.deepEqual(await destination.list(), ['ml-dev']);

    const forced = await runCli(['store', 'migrate', '--from', 'secrets.age', '--to', 'other.age', '--force'], { cwd: folder });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^replaced  ml-dev /m);
  });

  it('requires --from and --to', async () => {
    const folder = await tempFolder();
    const result = await runCli(['store', 'migrate', '--from', 'secrets.age'], { cwd: folder });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--to <url>/);
  });
});

