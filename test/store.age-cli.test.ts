import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { openStore, type AccountRecord } from '../src/store/index.js';

const run = promisify(execFile);
const AGE = '/usr/bin/age';
const AGE_KEYGEN = '/usr/bin/age-keygen';
const skip = existsSync(AGE) && existsSync(AGE_KEYGEN) ? false : `the age command is not installed at ${AGE}`;

const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-age-cli-'));
  folders.push(folder);
  return folder;
}

const record: AccountRecord = {
  methods: [
    {
      label: 'ci-bot',
      type: 'totp',
      seed: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
      methodId: 12,
      state: 'active',
      createdAt: '2026-01-02T03:04:05.000Z',
      updatedAt: '2026-01-02T03:04:05.000Z',
    },
  ],
  backupCodes: [{ code: 'a1b2c3d4', used: true, usedAt: '2026-01-03T00:00:00.000Z' }],
};

describe('age command interop', { skip }, () => {
  it('age -d decrypts the tool store', async () => {
    const folder = await tempFolder();
    const storePath = join(folder, 'secrets.age');
    const store = await openStore(storePath, { env: {} });
    await store.write('ml-prod', record, 0);
    await store.write('ml-prod', record, 1);

    const { stdout } = await run(AGE, ['-d', '-i', join(folder, 'identity.txt'), storePath]);

    assert.deepEqual(JSON.parse(stdout), {
      formatVersion: 1,
      accounts: { 'ml-prod': { version: 2, record } },
    });
  });

  it('reads a store encrypted by age -r', async () => {
    const folder = await tempFolder();
    const identityPath = join(folder, 'identity.txt');
    await run(AGE_KEYGEN, ['-o', identityPath]);
    const recipient = (await run(AGE_KEYGEN, ['-y', identityPath])).stdout.trim();
    const plainPath = join(folder, 'plain.json');
    await writeFile(plainPath, JSON.stringify({ formatVersion: 1, accounts: { 'ml-prod': { version: 3, record } } }));
    const storePath = join(folder, 'secrets.age');
    await run(AGE, ['-r', recipient, '-o', storePath, plainPath]);
    // age creates its output with the mode the umask allows, often 0644, which the tool rejects.
    await chmod(storePath, 0o600);

    const store = await openStore(storePath, { env: {} });

    assert.deepEqual(await store.read('ml-prod'), { record, version: 3 });
  });

  it('reads a store encrypted by age -a', async () => {
    const folder = await tempFolder();
    const identityPath = join(folder, 'key.txt');
    await run(AGE_KEYGEN, ['-o', identityPath]);
    const recipient = (await run(AGE_KEYGEN, ['-y', identityPath])).stdout.trim();
    const plainPath = join(folder, 'plain.json');
    await writeFile(plainPath, JSON.stringify({ formatVersion: 1, accounts: { 'ml-prod': { version: 1, record } } }));
    const storePath = join(folder, 'secrets.age');
    await run(AGE, ['-a', '-r', recipient, '-o', storePath, plainPath]);
    await chmod(storePath, 0o600);
    assert.match(await readFile(storePath, 'utf8'), /^-----BEGIN AGE ENCRYPTED FILE-----/);

    const store = await openStore(storePath, { env: { TFA_GITOPS_IDENTITY: identityPath } });

    assert.deepEqual(await store.read('ml-prod'), { record, version: 1 });
    assert.equal(await store.write('ml-prod', record, 1), 2);
    const { stdout } = await run(AGE, ['-d', '-i', identityPath, storePath]);
    assert.equal(JSON.parse(stdout).accounts['ml-prod'].version, 2);
  });
});
