import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { FileStore, openStore, PassphraseKey, StoreError, type AccountRecord } from '../src/store/index.js';

// Stores written through openStore use age's default scrypt work factor (18), which costs
// about 1.5 s of CPU per encryption or decryption, so the cache test counts decryptions.
const PASSPHRASE = 'correct horse battery staple';
const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-pass-'));
  folders.push(folder);
  return folder;
}

function record(label: string): AccountRecord {
  return { methods: [], backupCodes: [{ code: `${label}-code`, used: false }] };
}

/**
 * Writes a passphrase store with scrypt work factor 10 (about 1 ms), for tests about which key
 * decrypts a store rather than about the cost.
 */
async function lowCostStore(): Promise<string> {
  const storePath = join(await tempFolder(), 'secrets.age');
  const contents = { formatVersion: 1, accounts: { 'ml-prod': { version: 1, record: record('first') } } };
  await writeFile(storePath, await new PassphraseKey(PASSPHRASE, 10).encrypt(JSON.stringify(contents)), { mode: 0o600 });
  return storePath;
}

function assertStoreError(code: string, ...fragments: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, String(error));
    assert.equal(error.code, code, error.message);
    const text = `${error.message} ${error.hint ?? ''}`;
    for (const fragment of fragments) {
      assert.ok(text.includes(fragment), `"${text}" lacks "${fragment}"`);
    }
    assert.ok(!text.includes(PASSPHRASE), text);
    return true;
  };
}

describe('passphrase store', () => {
  it('encrypts with scrypt and caches the plaintext', async () => {
    const folder = await tempFolder();
    const storePath = join(folder, 'state', 'secrets.age');
    const env = { TFA_GITOPS_PASSPHRASE: PASSPHRASE };
    const notices: string[] = [];

    const writer = (await openStore(storePath, { env, onNotice: (message) => notices.push(message) })) as FileStore;
    await writer.write('ml-prod', record('first'), 0);

    assert.deepEqual(notices, []);
    assert.deepEqual(await readdir(join(folder, 'state')), ['secrets.age']);
    const header = (await readFile(storePath)).subarray(0, 64).toString('latin1');
    assert.match(header, /^age-encryption\.org\/v1\n-> scrypt \S+ 18\n/);
    // The write cached what it wrote, so reading it back needs no decryption.
    assert.deepEqual(await writer.read('ml-prod'), { record: record('first'), version: 1 });
    assert.equal(writer.decryptions, 0);

    const reader = (await openStore(storePath, { env })) as FileStore;
    assert.equal(reader.decryptions, 1);
    assert.deepEqual(await reader.read('ml-prod'), { record: record('first'), version: 1 });
    assert.deepEqual(await reader.list(), ['ml-prod']);
    assert.equal(reader.decryptions, 1);

    // A change by another writer invalidates the reader's cache.
    await writer.write('ml-prod', record('second'), 1);
    assert.deepEqual(await reader.read('ml-prod'), { record: record('second'), version: 2 });
    assert.equal(reader.decryptions, 2);
  });

  it('rejects a wrong passphrase', async () => {
    const storePath = await lowCostStore();

    await assert.rejects(
      openStore(storePath, { env: { TFA_GITOPS_PASSPHRASE: 'not the passphrase' } }),
      assertStoreError('store_decrypt_failed', storePath, 'TFA_GITOPS_PASSPHRASE'),
    );
  });

  it('reads a low work factor store', async () => {
    const storePath = await lowCostStore();

    const store = await openStore(storePath, { env: { TFA_GITOPS_PASSPHRASE: PASSPHRASE } });

    assert.deepEqual(await store.read('ml-prod'), { record: record('first'), version: 1 });
  });

  it('requests the passphrase when unset', async () => {
    const storePath = await lowCostStore();
    // An identity file of another store, so that the identity path is valid but cannot help.
    const otherStore = join(await tempFolder(), 'secrets.age');
    await openStore(otherStore, { env: {} });

    await assert.rejects(
      openStore(storePath, { env: { TFA_GITOPS_IDENTITY: join(otherStore, '..', 'identity.txt') } }),
      assertStoreError('store_decrypt_failed', storePath, 'encrypted with a passphrase', 'Set TFA_GITOPS_PASSPHRASE'),
    );
  });

  it('rejects a passphrase for an identity store', async () => {
    const folder = await tempFolder();
    const storePath = join(folder, 'secrets.age');
    const store = await openStore(storePath, { env: {} });
    await store.write('ml-prod', record('first'), 0);

    await assert.rejects(
      openStore(storePath, { env: { TFA_GITOPS_PASSPHRASE: PASSPHRASE } }),
      assertStoreError('store_decrypt_failed', storePath, 'not with a passphrase', 'Unset TFA_GITOPS_PASSPHRASE'),
    );
  });

  it('rejects an empty passphrase', async () => {
    const folder = await tempFolder();
    const storePath = join(folder, 'secrets.age');

    await assert.rejects(openStore(storePath, { env: { TFA_GITOPS_PASSPHRASE: '' } }), assertStoreError('store_passphrase_empty', storePath));
    assert.deepEqual(await readdir(folder), []);
  });
});
