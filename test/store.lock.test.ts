import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

import {
  createIdentityFile,
  FileStore,
  IdentityKey,
  openStore,
  readIdentityFile,
  StoreError,
  type AccountRecord,
  type AgeKey,
} from '../src/store/index.js';

const run = promisify(execFile);
const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

/** Creates an identity in a new temporary folder and a store there with a short lock timeout. */
async function newStore(timeoutMs = 400): Promise<{ store: FileStore; storePath: string; lockPath: string; folder: string }> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-lock-'));
  folders.push(folder);
  const storePath = join(folder, 'secrets.age');
  const key = new IdentityKey(await createIdentityFile(join(folder, 'identity.txt')));
  const store = new FileStore(storePath, key, { lock: { timeoutMs } });
  return { store, storePath, lockPath: `${storePath}.lock`, folder };
}

function emptyAccount(): AccountRecord {
  return { methods: [], backupCodes: [] };
}

function lockText(pid: number, host: string, createdAt: Date): string {
  return `${JSON.stringify({ pid, host, createdAt: createdAt.toISOString(), token: 'other-holder' })}\n`;
}

/** Returns the pid of a process that has exited, so no live process has it (barring reuse). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(child.pid !== undefined);
  return child.pid;
}

describe('store write lock', () => {
  it('removes the lock file after a write', async () => {
    const { store, folder } = await newStore();

    await store.write('a', emptyAccount(), 0);

    assert.deepEqual((await readdir(folder)).sort(), ['identity.txt', 'secrets.age']);
  });

  it('times out on a live lock', async () => {
    const { store, lockPath } = await newStore(300);
    const text = lockText(process.ppid, hostname(), new Date());
    await writeFile(lockPath, text);
    const started = Date.now();

    await assert.rejects(store.write('a', emptyAccount(), 0), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, 'store_locked');
      assert.ok(error.message.includes(lockPath), error.message);
      assert.ok(error.message.includes(`process ${process.ppid} on host ${hostname()}`), error.message);
      assert.ok(error.hint?.includes(`delete ${lockPath}`), error.hint);
      return true;
    });

    assert.ok(Date.now() - started >= 300);
    assert.equal(await readFile(lockPath, 'utf8'), text);
    assert.equal((await store.read('a')).version, 0);
  });

  it('waits for a lock to be released', async () => {
    const { store, lockPath } = await newStore(5000);
    await writeFile(lockPath, lockText(process.ppid, hostname(), new Date()));
    setTimeout(() => void rm(lockPath), 200);

    assert.equal(await store.write('a', emptyAccount(), 0), 1);
  });

  it('takes over the lock of a dead process', async () => {
    const { store, lockPath } = await newStore(300);
    await writeFile(lockPath, lockText(await deadPid(), hostname(), new Date()));

    assert.equal(await store.write('a', emptyAccount(), 0), 1);
    await assert.rejects(readFile(lockPath), { code: 'ENOENT' });
  });

  it('takes over a lock older than 30 s', async () => {
    const { store, lockPath } = await newStore(300);
    // Another host: its pid cannot be checked, so only the age makes it stale.
    await writeFile(lockPath, lockText(1, 'elsewhere.example', new Date(Date.now() - 31_000)));

    assert.equal(await store.write('a', emptyAccount(), 0), 1);
  });

  it('respects a fresh lock of another host', async () => {
    const { store, lockPath } = await newStore(300);
    await writeFile(lockPath, lockText(1, 'elsewhere.example', new Date(Date.now() - 5_000)));

    await assert.rejects(store.write('a', emptyAccount(), 0), { code: 'store_locked' });
  });

  it('judges an unreadable lock by its age', async () => {
    const { store, lockPath } = await newStore(300);
    await writeFile(lockPath, 'half-writ');

    await assert.rejects(store.write('a', emptyAccount(), 0), { code: 'store_locked' });

    const old = new Date(Date.now() - 60_000);
    await utimes(lockPath, old, old);
    assert.equal(await store.write('a', emptyAccount(), 0), 1);
  });

  it('leaves a lock taken over meanwhile', async () => {
    const { folder, storePath, lockPath } = await newStore();
    const identityKey = new IdentityKey(await readIdentityFile(join(folder, 'identity.txt')));
    const takeover = lockText(process.ppid, hostname(), new Date());
    // This key's encrypt runs while the lock is held. It plays another process that judged
    // this writer's lock stale and replaced it.
    const key: AgeKey = {
      kind: identityKey.kind,
      description: identityKey.description,
      decrypt: (file, path) => identityKey.decrypt(file, path),
      encrypt: async (plaintext) => {
        await writeFile(lockPath, takeover);
        return identityKey.encrypt(plaintext);
      },
    };
    const store = new FileStore(storePath, key);

    assert.equal(await store.write('a', emptyAccount(), 0), 1);

    assert.equal(await readFile(lockPath, 'utf8'), takeover);
  });

  it('serialises writers in separate processes', async () => {
    const { storePath, folder } = await newStore();
    const moduleUrl = new URL('../src/store/index.js', import.meta.url).href;
    const writers = 4;
    const writesEach = 8;
    // Each process appends its own backup codes with read, then write-if-unchanged, retrying
    // on conflict, so a lost update would show as a missing code.
    const script = `
      import { openStore, StoreConflictError } from ${JSON.stringify(moduleUrl)};
      const store = await openStore(process.argv[1], { env: { TFA_GITOPS_IDENTITY: process.argv[2] } });
      for (let n = 0; n < ${writesEach}; n += 1) {
        for (;;) {
          const { record, version } = await store.read('shared');
          record.backupCodes.push({ code: process.argv[3] + '-' + n, used: false });
          try { await store.write('shared', record, version); break; }
          catch (error) { if (!(error instanceof StoreConflictError)) throw error; }
        }
      }
    `;

    await Promise.all(
      Array.from({ length: writers }, (_, index) =>
        run(process.execPath, ['--input-type=module', '-e', script, storePath, join(folder, 'identity.txt'), `w${index}`], { timeout: 30_000 }),
      ),
    );

    const store = await openStore(storePath, { env: {} });
    const { record, version } = await store.read('shared');
    assert.equal(version, writers * writesEach);
    const codes = new Set(record.backupCodes.map((code) => code.code));
    assert.equal(codes.size, writers * writesEach);
    for (let index = 0; index < writers; index += 1) {
      for (let n = 0; n < writesEach; n += 1) {
        assert.ok(codes.has(`w${index}-${n}`), `w${index}-${n} lost`);
      }
    }
  });
});
