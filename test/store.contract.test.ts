/**
 * The store contract: one suite that every writable store passes, and a read-only subset for
 * env://. The writable stores are the age file, Vault behind the fake server, Vault behind a
 * real server when VAULT_ADDR is set, and the exec store with the example helper.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Journal } from '../src/apply/journal.js';
import {
  openStore,
  readVaultSettings,
  StoreConflictError,
  StoreError,
  StoreReadOnlyError,
  VaultConnection,
  type AccountRecord,
  type SecretStore,
} from '../src/store/index.js';
import { startFakeVault, type FakeVault } from './helpers/vault-server.js';

const HELPER = fileURLToPath(new URL('../../examples/store-helper/folder-store.mjs', import.meta.url));
const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-store-contract-'));
  folders.push(folder);
  return folder;
}

/** Quotes a value for /bin/sh. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function sampleRecord(label = 'ci-bot', code = 'a1b2c3d4'): AccountRecord {
  return {
    methods: [
      {
        label,
        type: 'totp',
        seed: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
        methodId: 7,
        state: 'active',
        createdAt: '2026-01-02T03:04:05.000Z',
        updatedAt: '2026-01-02T03:04:06.000Z',
        lastCodeStep: 59_000_000,
      },
      {
        label: 'next',
        type: 'totp',
        seed: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
        methodId: null,
        state: 'pending',
        createdAt: '2026-01-02T03:04:07.000Z',
        updatedAt: '2026-01-02T03:04:07.000Z',
      },
    ],
    backupCodes: [
      { code, used: false },
      { code: 'e5f6a7b8', used: true, usedAt: '2026-01-03T00:00:00.000Z' },
    ],
    backupCodesIssuedAt: '2026-01-02T03:04:05.000Z',
    lock: {
      host: 'ci-runner-3',
      pid: 4242,
      startedAt: '2026-01-02T03:04:05.000Z',
      expiresAt: '2026-01-02T03:19:05.000Z',
      token: '0c3f1b2e-5d6a-4e7f-8a9b-0c1d2e3f4a5b',
    },
  };
}

/** A fresh, empty store location; open() gives a new instance on it each time. */
interface StoreLocation {
  open(): Promise<SecretStore>;
}

interface StoreKind {
  name: string;
  skip: string | false;
  setUp?(): Promise<void>;
  tearDown?(): Promise<void>;
  location(): Promise<StoreLocation>;
}

let fakeVault: FakeVault | undefined;
let locationCount = 0;

const realVaultRun = `tfa-gitops-test-${randomBytes(4).toString('hex')}`;
const realVaultMount = process.env['TFA_GITOPS_TEST_VAULT_MOUNT'] ?? 'secret';

const kinds: StoreKind[] = [
  {
    name: 'file store',
    skip: false,
    async location() {
      const url = pathToFileURL(join(await tempFolder(), 'secrets.age')).href;
      return { open: () => openStore(url, { env: {} }) };
    },
  },
  {
    name: 'vault store (fake server)',
    skip: false,
    async setUp() {
      fakeVault = await startFakeVault();
    },
    async tearDown() {
      await fakeVault?.close();
    },
    async location() {
      const vault = fakeVault;
      assert.ok(vault !== undefined);
      const url = `vault://secret/teams/t${++locationCount}`;
      return { open: () => openStore(url, { env: { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken } }) };
    },
  },
  {
    name: 'vault store (real server)',
    skip: process.env['VAULT_ADDR'] === undefined ? 'VAULT_ADDR is not set' : false,
    async tearDown() {
      await destroyRealVaultFolder(`${realVaultMount}`, realVaultRun);
    },
    async location() {
      const url = `vault://${realVaultMount}/${realVaultRun}/t${++locationCount}`;
      return { open: () => openStore(url, { env: process.env }) };
    },
  },
  {
    name: 'exec store (example helper)',
    skip: false,
    async location() {
      const folder = await tempFolder();
      const url = `exec://${shellQuote(process.execPath)} ${shellQuote(HELPER)} --dir records`;
      return { open: () => openStore(url, { env: { PATH: process.env['PATH'] }, baseDir: folder }) };
    },
  },
];

for (const kind of kinds) {
  describe(`store contract: ${kind.name}`, { skip: kind.skip }, () => {
    before(async () => kind.setUp?.());
    after(async () => kind.tearDown?.());

    async function openNew(): Promise<SecretStore> {
      return (await kind.location()).open();
    }

    it('is writable', async () => {
      const store = await openNew();
      assert.equal(store.writable, true);
      await store.close();
    });

    it('reads an absent account as empty', async () => {
      const store = await openNew();
      assert.deepEqual(await store.read('ml-prod'), { record: { methods: [], backupCodes: [] }, version: 0 });
      assert.deepEqual(await store.list(), []);
      await store.close();
    });

    it('writes and reads back a record', async () => {
      const store = await openNew();
      const version = await store.write('ml-prod', sampleRecord(), 0);

      assert.ok(version > 0, `version ${version} is above 0`);
      assert.deepEqual(await store.read('ml-prod'), { record: sampleRecord(), version });
      await store.close();
    });

    it('raises the version on each write', async () => {
      const store = await openNew();
      const first = await store.write('ml-prod', sampleRecord(), 0);
      const second = await store.write('ml-prod', sampleRecord('renamed'), first);
      const third = await store.write('ml-prod', sampleRecord('again'), second);

      assert.ok(second > first, `version ${second} is above ${first}`);
      assert.ok(third > second, `version ${third} is above ${second}`);
      const read = await store.read('ml-prod');
      assert.equal(read.version, third);
      assert.equal(read.record.methods[0]?.label, 'again');
      await store.close();
    });

    it('rejects a stale expected version', async () => {
      const store = await openNew();
      const first = await store.write('ml-prod', sampleRecord(), 0);
      const second = await store.write('ml-prod', sampleRecord('newer'), first);

      await assert.rejects(store.write('ml-prod', sampleRecord('stale'), first), (error: unknown) => {
        assert.ok(error instanceof StoreConflictError, String(error));
        assert.equal(error.code, 'store_conflict');
        assert.equal(error.account, 'ml-prod');
        assert.equal(error.expectedVersion, first);
        assert.equal(error.actualVersion, second);
        assert.match(error.message, /ml-prod/);
        return true;
      });
      assert.equal((await store.read('ml-prod')).record.methods[0]?.label, 'newer');
      await store.close();
    });

    it('rejects creating an existing account', async () => {
      const store = await openNew();
      const version = await store.write('ml-prod', sampleRecord(), 0);

      await assert.rejects(store.write('ml-prod', sampleRecord('other'), 0), StoreConflictError);
      assert.deepEqual(await store.read('ml-prod'), { record: sampleRecord(), version });
      await store.close();
    });

    it('rejects a version the store never had', async () => {
      const store = await openNew();
      await assert.rejects(store.write('ml-prod', sampleRecord(), 3), (error: unknown) => {
        assert.ok(error instanceof StoreConflictError, String(error));
        assert.equal(error.actualVersion, 0);
        return true;
      });
      assert.deepEqual(await store.list(), []);
      await store.close();
    });

    it('rejects invalid expected versions', async () => {
      const store = await openNew();
      for (const version of [-1, 1.5, Number.NaN]) {
        await assert.rejects(store.write('ml-prod', sampleRecord(), version), (error: unknown) => {
          assert.ok(error instanceof StoreError, String(error));
          assert.equal(error.code, 'store_invalid_version');
          return true;
        });
      }
      await store.close();
    });

    it('lists accounts in order', async () => {
      const store = await openNew();
      for (const account of ['ml-prod', 'a.team', 'b_team', 'zeta9']) {
        await store.write(account, sampleRecord(), 0);
      }
      assert.deepEqual(await store.list(), ['a.team', 'b_team', 'ml-prod', 'zeta9']);
      await store.close();
    });

    it('keeps accounts apart', async () => {
      const store = await openNew();
      await store.write('one', sampleRecord('first', '11111111'), 0);
      await store.write('two', sampleRecord('second', '22222222'), 0);

      assert.equal((await store.read('one')).record.methods[0]?.label, 'first');
      assert.equal((await store.read('two')).record.backupCodes[0]?.code, '22222222');
      await store.close();
    });

    it('returns copies of records', async () => {
      const store = await openNew();
      const record = sampleRecord();
      await store.write('ml-prod', record, 0);
      record.methods.length = 0;

      const read = await store.read('ml-prod');
      read.record.backupCodes.length = 0;
      const again = await store.read('ml-prod');
      assert.equal(again.record.methods.length, 2);
      assert.equal(again.record.backupCodes.length, 2);
      await store.close();
    });

    it('sees writes of another instance', async () => {
      const location = await kind.location();
      const first = await location.open();
      const second = await location.open();
      const version = await first.write('ml-prod', sampleRecord(), 0);

      assert.deepEqual(await second.read('ml-prod'), { record: sampleRecord(), version });
      await assert.rejects(second.write('ml-prod', sampleRecord(), 0), StoreConflictError);
      await Promise.all([first.close(), second.close()]);
    });

    it('lets one of racing writers win', async () => {
      const location = await kind.location();
      const stores = await Promise.all([location.open(), location.open(), location.open(), location.open()]);
      const results = await Promise.allSettled(stores.map((store, index) => store.write('ml-prod', sampleRecord(`writer-${index}`), 0)));

      const won = results.filter((result) => result.status === 'fulfilled');
      const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      assert.equal(won.length, 1, 'one writer wins');
      for (const result of lost) assert.ok(result.reason instanceof StoreConflictError, String(result.reason));

      const winner = results.findIndex((result) => result.status === 'fulfilled');
      assert.equal((await stores[0]!.read('ml-prod')).record.methods[0]?.label, `writer-${winner}`);
      await Promise.all(stores.map((store) => store.close()));
    });

    it('loses no journal update to a race', async () => {
      const location = await kind.location();
      const [left, right] = await Promise.all([location.open(), location.open()]);
      await left.write('ml-prod', { methods: [], backupCodes: [] }, 0);
      const leftJournal = await Journal.open(left, 'ml-prod');
      const rightJournal = await Journal.open(right, 'ml-prod');
      assert.equal(leftJournal.version, rightJournal.version);

      await Promise.all([
        leftJournal.update((record) => void record.backupCodes.push({ code: 'left0001', used: false })),
        rightJournal.update((record) => void record.backupCodes.push({ code: 'right001', used: false })),
      ]);

      const { record } = await left.read('ml-prod');
      assert.deepEqual(record.backupCodes.map((code) => code.code).sort(), ['left0001', 'right001']);
      await Promise.all([left.close(), right.close()]);
    });
  });
}

describe('store contract: env store (read-only)', () => {
  const record = sampleRecord();
  const env = {
    TFA_CI_ML_PROD_RECORD: JSON.stringify(record),
    TFA_CI_STAGING_RECORD: Buffer.from(JSON.stringify(sampleRecord('staging'))).toString('base64'),
  };

  it('is read-only', async () => {
    const store = await openStore('env://TFA_CI', { env });
    assert.equal(store.writable, false);
    await assert.rejects(store.write('ml-prod', record, 1), (error: unknown) => {
      assert.ok(error instanceof StoreReadOnlyError, String(error));
      assert.equal(error.code, 'store_read_only');
      assert.match(error.message, /record of account "ml-prod"/);
      assert.match(error.message, /TFA_CI_ML_PROD_RECORD/);
      return true;
    });
  });

  it('reads an absent account as empty', async () => {
    const store = await openStore('env://TFA_CI', { env });
    assert.deepEqual(await store.read('ml-dev'), { record: { methods: [], backupCodes: [] }, version: 0 });
  });

  it('reads back the records', async () => {
    const store = await openStore('env://TFA_CI', { env });
    assert.deepEqual(await store.read('ml-prod'), { record, version: 1 });
    assert.equal((await store.read('staging')).record.methods[0]?.label, 'staging');
  });

  it('lists accounts in order', async () => {
    const store = await openStore('env://TFA_CI', { env });
    assert.deepEqual(await store.list(), ['ml_prod', 'staging']);
  });

  it('returns copies of records', async () => {
    const store = await openStore('env://TFA_CI', { env });
    (await store.read('ml-prod')).record.methods.length = 0;
    assert.equal((await store.read('ml-prod')).record.methods.length, 2);
  });
});

/** Destroys every secret the real-Vault run wrote under MOUNT/FOLDER. */
async function destroyRealVaultFolder(mount: string, folder: string): Promise<void> {
  const connection = new VaultConnection(await readVaultSettings(process.env));
  try {
    const walk = async (path: string): Promise<void> => {
      const listed = await connection.call({ method: 'GET', path: `${mount}/metadata/${path}/`, query: 'list=true', action: 'list test secrets' });
      const body = listed.body as { data?: { keys?: string[] } } | undefined;
      for (const key of body?.data?.keys ?? []) {
        if (key.endsWith('/')) await walk(`${path}/${key.slice(0, -1)}`);
        else await connection.call({ method: 'DELETE', path: `${mount}/metadata/${path}/${key}`, action: 'destroy a test secret' });
      }
    };
    await walk(folder);
  } finally {
    connection.close();
  }
}
