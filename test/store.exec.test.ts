import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ExecStore, openStore, StoreConflictError, StoreError, type AccountRecord } from '../src/store/index.js';

const HELPER = fileURLToPath(new URL('../../examples/store-helper/folder-store.mjs', import.meta.url));
const SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-store-exec-'));
  folders.push(folder);
  return folder;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function record(): AccountRecord {
  return {
    methods: [{ label: 'ci-bot', type: 'totp', seed: SEED, methodId: 3, state: 'active', createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-02T03:04:05.000Z' }],
    backupCodes: [{ code: 'a1b2c3d4', used: false }],
  };
}

/** Writes an executable /bin/sh script into `folder` and returns its name relative to it. */
async function script(folder: string, name: string, body: string): Promise<string> {
  await writeFile(join(folder, name), `#!/bin/sh\n${body}\n`);
  await chmod(join(folder, name), 0o755);
  return `./${name}`;
}

/** Returns a store over `command` without the `list` that openStore runs, so each test reaches the operation it checks. */
function execStore(command: string, cwd: string, timeoutMs = 10_000): ExecStore {
  return new ExecStore({ command, cwd, env: { PATH: process.env['PATH'] }, timeoutMs });
}

/** Checks a StoreError's code and that its message and hint contain each fragment and none of `hidden`. */
function storeError(code: string, fragments: string[], hidden: string[] = []) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, `expected StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    const text = `${error.message} ${error.hint ?? ''}`;
    for (const fragment of fragments) assert.ok(text.includes(fragment), `"${text}" lacks "${fragment}"`);
    for (const secret of hidden) assert.ok(!text.includes(secret), `"${text}" shows "${secret}"`);
    return true;
  };
}

/**
 * Returns whether `pid` runs. A killed process whose parent died stays a zombie until PID 1
 * reaps it, which some container init processes never do, so a zombie counts as stopped.
 */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ');
    return fields[1]?.startsWith('Z') !== true;
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

describe('exec store protocol', () => {
  it('sends one JSON request on stdin', async () => {
    const folder = await tempFolder();
    const command = await script(
      folder,
      'recorder.sh',
      `cat >> requests.jsonl
case "$1" in
  get) echo '{"version":0,"record":null}' ;;
  store) echo '{"version":1}' ;;
  erase) echo '{"erased":true}' ;;
  list) echo '{"accounts":["b","a","a"]}' ;;
esac`,
    );
    const store = execStore(command, folder);

    await store.read('ml-prod');
    await store.write('ml-prod', record(), 0);
    await store.erase('ml-prod', 1);
    assert.deepEqual(await store.list(), ['a', 'b']);

    const requests = (await readFile(join(folder, 'requests.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(requests, [
      { protocol: 1, operation: 'get', account: 'ml-prod' },
      { protocol: 1, operation: 'store', account: 'ml-prod', record: record(), expectedVersion: 0 },
      { protocol: 1, operation: 'erase', account: 'ml-prod', expectedVersion: 1 },
      { protocol: 1, operation: 'list' },
    ]);
  });

  it('runs a relative command in the manifest folder', async () => {
    const folder = await tempFolder();
    await script(folder, 'helper.sh', `echo "{\\"accounts\\":[\\"$(basename "$PWD")\\"]}"`);
    const store = await openStore('exec://./helper.sh', { env: { PATH: process.env['PATH'] }, baseDir: folder });

    assert.equal(store.location, 'exec://./helper.sh');
    assert.deepEqual(await store.list(), [folder.split('/').at(-1)]);
  });

  it('passes the environment to the helper', async () => {
    const folder = await tempFolder();
    await script(folder, 'helper.sh', 'echo "{\\"accounts\\":[\\"$OP_VAULT\\"]}"');
    const store = await openStore('exec://./helper.sh', { env: { PATH: process.env['PATH'], OP_VAULT: 'ops' }, baseDir: folder });
    assert.deepEqual(await store.list(), ['ops']);
  });

  it('turns a conflict response into StoreConflictError', async () => {
    const folder = await tempFolder();
    const command = await script(folder, 'helper.sh', 'echo \'{"conflict":true,"version":4}\'');
    const store = execStore(command, folder);

    await assert.rejects(store.write('ml-prod', record(), 2), (error: unknown) => {
      assert.ok(error instanceof StoreConflictError, String(error));
      assert.equal(error.expectedVersion, 2);
      assert.equal(error.actualVersion, 4);
      return true;
    });
  });
});

describe('exec store broken helpers', () => {
  it('rejects output that is not JSON', async () => {
    const folder = await tempFolder();
    const command = await script(folder, 'helper.sh', `echo 'seed: ${SEED}'`);
    await assert.rejects(
      execStore(command, folder).read('ml-prod'),
      storeError('store_helper_invalid', ['"./helper.sh" (operation get)', 'not JSON', 'not shown'], [SEED]),
    );
  });

  it('reports a non-zero exit with stderr', async () => {
    const folder = await tempFolder();
    const command = await script(folder, 'helper.sh', `echo '{"version":1,"record":{"seed":"${SEED}"}}'\necho "the vault is locked" >&2\nexit 3`);
    await assert.rejects(
      execStore(command, folder).read('ml-prod'),
      storeError('store_helper_failed', ['"./helper.sh" (operation get)', 'exit code 3', 'the vault is locked'], [SEED]),
    );
  });

  it('reports a silent failure', async () => {
    const folder = await tempFolder();
    const command = await script(folder, 'helper.sh', 'exit 1');
    await assert.rejects(execStore(command, folder).list(), storeError('store_helper_failed', ['(operation list)', 'exit code 1', 'printed nothing on standard error']));
  });

  it('reports a missing command', async () => {
    const folder = await tempFolder();
    await assert.rejects(
      openStore('exec://./no-such-helper', { env: { PATH: process.env['PATH'] }, baseDir: folder }),
      storeError('store_helper_failed', ['"./no-such-helper" (operation list)', 'exit code 127', 'not found']),
    );
  });

  it('stops a helper that hangs', async () => {
    const folder = await tempFolder();
    const command = await script(folder, 'helper.sh', 'sleep 30 &\necho $! > sleeper.pid\nwait');
    const started = Date.now();

    await assert.rejects(
      openStore(`exec://${command}`, { env: { PATH: process.env['PATH'], TFA_GITOPS_STORE_TIMEOUT: '0.5' }, baseDir: folder }),
      storeError('store_helper_timeout', ['"./helper.sh" (operation list)', 'within 0.5 s', 'TFA_GITOPS_STORE_TIMEOUT']),
    );
    assert.ok(Date.now() - started < 5_000, 'the timeout ended the wait');

    // The helper's own child belongs to its process group, so it is stopped too.
    const pid = Number(await readFile(join(folder, 'sleeper.pid'), 'utf8'));
    await delay(100);
    assert.equal(await isRunning(pid), false);
  });

  it('rejects an invalid TFA_GITOPS_STORE_TIMEOUT', async () => {
    await assert.rejects(
      openStore('exec://true', { env: { TFA_GITOPS_STORE_TIMEOUT: 'soon' } }),
      storeError('store_timeout_invalid', ['TFA_GITOPS_STORE_TIMEOUT', '"soon"']),
    );
  });

  it('rejects responses of the wrong shape', async () => {
    const folder = await tempFolder();
    const cases: [body: string, operation: 'get' | 'store' | 'list', reason: string][] = [
      ['[]', 'list', 'not a JSON object'],
      ['{"version":"1","record":null}', 'get', '"version" integer'],
      ['{"version":0,"record":{"methods":[],"backupCodes":[]}}', 'get', 'record at version 0'],
      [`{"version":2,"record":{"methods":[{"label":"x","seed":"${SEED}"}],"backupCodes":[]}}`, 'get', 'methods[0]'],
      ['{"version":0}', 'store', 'not above the expected version 0'],
      ['{"accounts":"a"}', 'list', '"accounts" array'],
    ];

    for (const [index, [body, operation, reason]] of cases.entries()) {
      const command = await script(folder, `helper-${index}.sh`, `echo '${body}'`);
      const store = execStore(command, folder);
      const runs = { get: () => store.read('ml-prod'), store: () => store.write('ml-prod', record(), 0), list: () => store.list() };
      await assert.rejects(runs[operation](), storeError('store_helper_invalid', [`(operation ${operation})`, reason, 'README'], [SEED]));
    }
  });
});

describe('exec store example helper', () => {
  async function helperStore(): Promise<{ store: ExecStore; folder: string }> {
    const folder = await tempFolder();
    const command = `${shellQuote(process.execPath)} ${shellQuote(HELPER)} --dir records`;
    return { store: (await openStore(`exec://${command}`, { env: { PATH: process.env['PATH'] }, baseDir: folder })) as ExecStore, folder };
  }

  it('keeps records in files of mode 0600', async () => {
    const { store, folder } = await helperStore();
    await store.write('ml-prod', record(), 0);

    const path = join(folder, 'records', 'ml-prod.json');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { version: 1, record: record() });
  });

  it('erases with check-and-set', async () => {
    const { store } = await helperStore();
    await store.write('ml-prod', record(), 0);
    await store.write('ml-prod', record(), 1);

    await assert.rejects(store.erase('ml-prod', 1), StoreConflictError);
    await store.erase('ml-prod', 2);
    assert.deepEqual(await store.read('ml-prod'), { record: { methods: [], backupCodes: [] }, version: 0 });
    assert.deepEqual(await store.list(), []);
  });

  it('rejects account names outside the folder', async () => {
    const { store } = await helperStore();
    await assert.rejects(store.read('../escape'), storeError('store_helper_failed', ['exit code 1', 'invalid account name']));
  });

  it('reports a damaged record file', async () => {
    const { store, folder } = await helperStore();
    await store.write('ml-prod', record(), 0);
    await writeFile(join(folder, 'records', 'ml-prod.json'), `{"seed": "${SEED}"`);

    await assert.rejects(store.read('ml-prod'), storeError('store_helper_failed', ['ml-prod.json is damaged'], [SEED]));
    await assert.rejects(store.write('ml-prod', record(), 1), storeError('store_helper_failed', ['ml-prod.json is damaged']));
    await store.list();
    await assert.rejects(stat(join(folder, 'records', 'ml-prod.lock')), /ENOENT/, 'the lock is released after an error');
  });
});
