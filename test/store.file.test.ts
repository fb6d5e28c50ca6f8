import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

import { armor, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';

import { openStore, StoreConflictError, StoreError, type AccountRecord, type SecretStore } from '../src/store/index.js';

const SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-store-'));
  folders.push(folder);
  return folder;
}

/** Opens a new store at `.tfa-gitops/secrets.age` in a new temporary folder, creating its identity. */
async function newStore(): Promise<{ store: SecretStore; storePath: string; identityPath: string; notices: string[] }> {
  const folder = await tempFolder();
  const storePath = join(folder, '.tfa-gitops', 'secrets.age');
  const notices: string[] = [];
  const store = await openStore(pathToFileURL(storePath).href, { env: {}, onNotice: (message) => notices.push(message) });
  return { store, storePath, identityPath: join(folder, '.tfa-gitops', 'identity.txt'), notices };
}

function sampleRecord(label = 'ci-bot'): AccountRecord {
  return {
    methods: [
      {
        label,
        type: 'totp',
        seed: SEED,
        methodId: 7,
        state: 'active',
        createdAt: '2026-01-02T03:04:05.000Z',
        updatedAt: '2026-01-02T03:04:05.000Z',
        lastCodeStep: 56_666_666,
      },
    ],
    backupCodes: [{ code: 'a1b2c3d4', used: false }],
    backupCodesIssuedAt: '2026-01-02T03:04:05.000Z',
  };
}

function assertStoreError(code: string, ...fragments: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, `expected StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    const text = `${error.message} ${error.hint ?? ''}`;
    for (const fragment of fragments) {
      assert.ok(text.includes(fragment), `"${text}" lacks "${fragment}"`);
    }
    assert.doesNotMatch(text, /AGE-SECRET-KEY-1[0-9A-Z]{10}/);
    assert.ok(!text.includes(SEED), text);
    return true;
  };
}

describe('openStore identity', () => {
  it('creates an identity file on first use', async () => {
    const { identityPath, notices } = await newStore();

    assert.deepEqual(notices, [`created identity file ${identityPath} (mode 0600); keep it out of git`]);
    assert.equal((await stat(identityPath)).mode & 0o777, 0o600);
    assert.equal((await stat(join(identityPath, '..'))).mode & 0o777, 0o700);

    const lines = (await readFile(identityPath, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(lines[1] ?? '', /^# public key: age1[0-9a-z]{58}$/);
    assert.match(lines[2] ?? '', /^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
  });

  it('does not create the store file on open', async () => {
    const { storePath } = await newStore();

    await assert.rejects(stat(storePath), { code: 'ENOENT' });
  });

  it('reuses the identity file next to the store', async () => {
    const { store, storePath, identityPath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    const identityBefore = await readFile(identityPath, 'utf8');

    const notices: string[] = [];
    const reopened = await openStore(storePath, { env: {}, onNotice: (message) => notices.push(message) });

    assert.deepEqual(notices, []);
    assert.equal((await reopened.read('ml-prod')).version, 1);
    assert.equal(await readFile(identityPath, 'utf8'), identityBefore);
  });

  it('uses TFA_GITOPS_IDENTITY', async () => {
    const { store, storePath, identityPath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    const elsewhere = join(await tempFolder(), 'key.txt');
    await writeFile(elsewhere, await readFile(identityPath), { mode: 0o600 });
    await rm(identityPath);

    const reopened = await openStore(storePath, { env: { TFA_GITOPS_IDENTITY: elsewhere } });

    assert.deepEqual((await reopened.read('ml-prod')).record, sampleRecord());
  });

  it('rejects a missing TFA_GITOPS_IDENTITY file', async () => {
    const folder = await tempFolder();
    const missing = join(folder, 'nope.txt');

    await assert.rejects(
      openStore(join(folder, 'secrets.age'), { env: { TFA_GITOPS_IDENTITY: missing } }),
      assertStoreError('store_identity_missing', missing, 'TFA_GITOPS_IDENTITY'),
    );
    assert.deepEqual(await readdir(folder), []);
  });

  it('never creates a key for an existing store', async () => {
    const { store, storePath, identityPath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    await rm(identityPath);

    await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_identity_missing', storePath, identityPath));
    await assert.rejects(stat(identityPath), { code: 'ENOENT' });
  });

  it('rejects an identity file others can read', async () => {
    const { storePath, identityPath } = await newStore();
    await chmod(identityPath, 0o640);

    await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_permissions', identityPath, `chmod 600 ${identityPath}`));
  });

  it('rejects an invalid key without echoing it', async () => {
    const folder = await tempFolder();
    const identity = await generateX25519Identity();
    const broken = `${identity.slice(0, -4)}QQQQ`;
    const identityPath = join(folder, 'identity.txt');
    await writeFile(identityPath, `# a comment\n\n${broken}\n`, { mode: 0o600 });

    await assert.rejects(openStore(join(folder, 'secrets.age'), { env: {} }), (error: unknown) => {
      assertStoreError('store_identity_invalid', identityPath, 'Line 3')(error);
      assert.ok(!String((error as Error).message).includes(broken.slice(16, 40)));
      assert.equal((error as Error).cause, undefined);
      return true;
    });
  });

  it('rejects an identity file without keys', async () => {
    const folder = await tempFolder();
    const identityPath = join(folder, 'identity.txt');
    await writeFile(identityPath, '# only a comment\n', { mode: 0o600 });

    await assert.rejects(openStore(join(folder, 'secrets.age'), { env: {} }), assertStoreError('store_identity_invalid', identityPath));
  });
});

describe('openStore URL', () => {
  it('accepts a file URL and a bare path', async () => {
    const folder = await tempFolder();
    const storePath = join(folder, 'secrets.age');

    const byUrl = await openStore(pathToFileURL(storePath).href, { env: {} });
    await byUrl.write('a', sampleRecord(), 0);
    const byPath = await openStore(storePath, { env: {} });

    assert.equal(byUrl.location, storePath);
    assert.equal(byPath.location, storePath);
    assert.equal((await byPath.read('a')).version, 1);
  });

  it('rejects unknown schemes', async () => {
    for (const url of ['s3://bucket/secrets.age', 'https://example.test/secrets.age', 'aws-sm://tfa']) {
      await assert.rejects(openStore(url, { env: {} }), assertStoreError('store_url_unsupported', url, 'file://', 'vault://', 'exec://', 'env://'));
    }
  });

  it('rejects a relative path', async () => {
    await assert.rejects(openStore('secrets.age', { env: {} }), assertStoreError('store_url_invalid', 'secrets.age'));
    await assert.rejects(openStore('file://relative/secrets.age', { env: {} }), assertStoreError('store_url_invalid'));
  });
});

describe('FileStore read and write', () => {
  it('reads an absent account as empty', async () => {
    const { store } = await newStore();

    assert.deepEqual(await store.read('ml-prod'), { record: { methods: [], backupCodes: [] }, version: 0 });
    assert.deepEqual(await store.list(), []);
  });

  it('writes and reads back a record', async () => {
    const { store } = await newStore();

    assert.equal(await store.write('ml-prod', sampleRecord(), 0), 1);
    assert.deepEqual(await store.read('ml-prod'), { record: sampleRecord(), version: 1 });
    assert.equal(await store.write('ml-prod', sampleRecord('renamed'), 1), 2);
    assert.deepEqual(await store.read('ml-prod'), { record: sampleRecord('renamed'), version: 2 });
  });

  it('lists accounts in order', async () => {
    const { store } = await newStore();
    await store.write('zeta', sampleRecord(), 0);
    await store.write('alpha', sampleRecord(), 0);

    assert.deepEqual(await store.list(), ['alpha', 'zeta']);
  });

  it('keeps accounts apart', async () => {
    const { store } = await newStore();
    await store.write('one', sampleRecord('first'), 0);
    await store.write('two', sampleRecord('second'), 0);
    await store.write('one', sampleRecord('third'), 1);

    assert.deepEqual(await store.read('two'), { record: sampleRecord('second'), version: 1 });
    assert.deepEqual(await store.read('one'), { record: sampleRecord('third'), version: 2 });
  });

  it('rejects a stale expectedVersion', async () => {
    const { store, storePath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    await store.write('ml-prod', sampleRecord('second'), 1);
    const before = await readFile(storePath);

    await assert.rejects(store.write('ml-prod', sampleRecord('lost'), 1), (error: unknown) => {
      assertStoreError('store_conflict', 'ml-prod', 'version 2', 'version 1')(error);
      assert.ok(error instanceof StoreConflictError);
      assert.equal(error.expectedVersion, 1);
      assert.equal(error.actualVersion, 2);
      return true;
    });
    assert.deepEqual(await readFile(storePath), before);
    assert.equal((await store.read('ml-prod')).record.methods[0]?.label, 'second');
  });

  it('rejects creating an existing account', async () => {
    const { store } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);

    await assert.rejects(store.write('ml-prod', sampleRecord(), 0), StoreConflictError);
  });

  it('sees writes of another instance', async () => {
    const { store, storePath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    const other = await openStore(storePath, { env: {} });

    await other.write('ml-prod', sampleRecord('from-other'), 1);

    assert.deepEqual(await store.read('ml-prod'), { record: sampleRecord('from-other'), version: 2 });
    await assert.rejects(store.write('ml-prod', sampleRecord(), 1), StoreConflictError);
  });

  it('returns copies of records', async () => {
    const { store } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);

    const first = await store.read('ml-prod');
    first.record.methods.length = 0;

    assert.equal((await store.read('ml-prod')).record.methods.length, 1);
  });

  it('stores an account named __proto__', async () => {
    const { store, storePath } = await newStore();
    await store.write('__proto__', sampleRecord(), 0);

    const reopened = await openStore(storePath, { env: {} });

    assert.deepEqual(await reopened.list(), ['__proto__']);
    assert.deepEqual((await reopened.read('__proto__')).record, sampleRecord());
  });

  it('writes mode 0600 and leaves no temp files', async () => {
    const { store, storePath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    await store.write('ml-prod', sampleRecord(), 1);

    assert.equal((await stat(storePath)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(join(storePath, '..'))).sort(), ['identity.txt', 'secrets.age']);
  });

  it('keeps the seed out of the file bytes', async () => {
    const { store, storePath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);

    const bytes = await readFile(storePath);

    assert.ok(bytes.subarray(0, 21).toString('latin1') === 'age-encryption.org/v1');
    assert.ok(!bytes.toString('latin1').includes(SEED));
  });

  it('serialises concurrent writes', async () => {
    const { store, storePath } = await newStore();

    const versions = await Promise.all(Array.from({ length: 20 }, (_, index) => store.write(`account-${index}`, sampleRecord(), 0)));

    assert.deepEqual(versions, Array.from({ length: 20 }, () => 1));
    const reopened = await openStore(storePath, { env: {} });
    assert.equal((await reopened.list()).length, 20);
  });

  it('lets one of racing writers win', async () => {
    const { store } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);

    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, index) => store.write('ml-prod', sampleRecord(`writer-${index}`), 1)));

    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    const rejected = results.filter((result) => result.status === 'rejected');
    assert.equal(rejected.length, 4);
    for (const result of rejected) {
      assert.ok(result.reason instanceof StoreConflictError);
    }
    assert.equal((await store.read('ml-prod')).version, 2);
  });

  it('rejects invalid write arguments', async () => {
    const { store } = await newStore();

    await assert.rejects(store.write('', sampleRecord(), 0), assertStoreError('store_invalid_account'));
    await assert.rejects(store.write('a', sampleRecord(), -1), assertStoreError('store_invalid_version', '-1'));
    await assert.rejects(store.write('a', sampleRecord(), 1.5), assertStoreError('store_invalid_version', '1.5'));
  });
});

describe('FileStore damaged files', () => {
  it('rejects a store file others can read', async () => {
    const { store, storePath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    await chmod(storePath, 0o644);

    await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_permissions', storePath, `chmod 600 ${storePath}`));
    await assert.rejects(store.read('ml-prod'), assertStoreError('store_permissions', storePath));
  });

  it('names both paths for a wrong identity', async () => {
    const { store, storePath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    const otherIdentity = join(await tempFolder(), 'other.txt');
    await writeFile(otherIdentity, `${await generateX25519Identity()}\n`, { mode: 0o600 });

    await assert.rejects(
      openStore(storePath, { env: { TFA_GITOPS_IDENTITY: otherIdentity } }),
      assertStoreError('store_decrypt_failed', storePath, otherIdentity, 'TFA_GITOPS_IDENTITY'),
    );
  });

  it('rejects a corrupted file', async () => {
    const { store, storePath } = await newStore();
    await store.write('ml-prod', sampleRecord(), 0);
    const bytes = await readFile(storePath);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
    await writeFile(storePath, bytes);

    await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_damaged', storePath));
  });

  it('rejects a file that is not age', async () => {
    const { storePath } = await newStore();
    await writeFile(storePath, '{"formatVersion":1,"accounts":{}}\n', { mode: 0o600 });

    await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_not_age', storePath));
  });

  it('rejects a newer format version', async () => {
    const { storePath, identityPath } = await newStore();
    await writeEncrypted(storePath, identityPath, JSON.stringify({ formatVersion: 2, accounts: {} }));

    await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_format_unsupported', storePath, 'Upgrade'));
  });

  it('rejects JSON of the wrong shape', async () => {
    const { storePath, identityPath } = await newStore();
    const cases = [
      ['not json', 'not JSON'],
      ['[]', 'not an object'],
      ['{"formatVersion":1}', '"accounts"'],
      ['{"formatVersion":1,"accounts":{"a":{"version":0,"record":{"methods":[],"backupCodes":[]}}}}', 'version of account "a"'],
      ['{"formatVersion":1,"accounts":{"a":{"version":1,"record":{"methods":[]}}}}', 'record of account "a"'],
    ];
    for (const [text, fragment] of cases) {
      await writeEncrypted(storePath, identityPath, text ?? '');
      await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_invalid', storePath, fragment ?? ''), text);
    }
  });

  it('reads an armored store', async () => {
    const { storePath, identityPath } = await newStore();
    const contents = { formatVersion: 1, accounts: { 'ml-prod': { version: 4, record: sampleRecord() } } };
    await writeEncrypted(storePath, identityPath, JSON.stringify(contents), { armored: true });
    assert.ok((await readFile(storePath, 'utf8')).startsWith('-----BEGIN AGE ENCRYPTED FILE-----'));

    const store = await openStore(storePath, { env: {} });

    assert.deepEqual(await store.read('ml-prod'), { record: sampleRecord(), version: 4 });
    assert.equal(await store.write('ml-prod', sampleRecord('next'), 4), 5);
    assert.equal((await readFile(storePath)).subarray(0, 21).toString('latin1'), 'age-encryption.org/v1');
  });

  it('rejects a folder as the store', async () => {
    const { storePath } = await newStore();
    await mkdir(storePath);

    await assert.rejects(openStore(storePath, { env: {} }), assertStoreError('store_not_file', storePath));
  });
});

/** Encrypts `text` to the key in `identityPath` with the age library and writes it as the store. */
async function writeEncrypted(storePath: string, identityPath: string, text: string, options: { armored?: boolean } = {}): Promise<void> {
  const identity = (await readFile(identityPath, 'utf8')).split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1')) ?? '';
  const encrypter = new Encrypter();
  encrypter.addRecipient(await identityToRecipient(identity));
  const bytes = await encrypter.encrypt(text);
  await writeFile(storePath, options.armored === true ? armor.encode(bytes) : bytes, { mode: 0o600 });
}
