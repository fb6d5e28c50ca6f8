import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { Journal } from '../src/apply/journal.js';
import {
  DEFAULT_VAULT_ADDR,
  openStore,
  parseVaultUrl,
  readVaultSettings,
  StoreConflictError,
  StoreError,
  VaultStore,
  type AccountRecord,
} from '../src/store/index.js';
import { withFakeVault, type FakeVault } from './helpers/vault-server.js';

const SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const folders: string[] = [];

after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function tempFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'tfa-store-vault-'));
  folders.push(folder);
  return folder;
}

function record(label = 'ci-bot'): AccountRecord {
  return {
    methods: [{ label, type: 'totp', seed: SEED, methodId: 3, state: 'active', createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-02T03:04:05.000Z' }],
    backupCodes: [{ code: 'a1b2c3d4', used: false }],
  };
}

function envFor(vault: FakeVault, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken, HOME: '/nonexistent', ...extra };
}

/** Checks a StoreError's code and that its message and hint contain each fragment. */
function storeError(code: string, ...fragments: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, `expected StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    const text = `${error.message} ${error.hint ?? ''}`;
    for (const fragment of fragments) assert.ok(text.includes(fragment), `"${text}" lacks "${fragment}"`);
    return true;
  };
}

/** Returns the error `promise` rejects with, failing when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StoreError, `expected StoreError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('vault store URL', () => {
  const valid: [url: string, mount: string, path: string][] = [
    ['vault://secret/tfa-gitops', 'secret', 'tfa-gitops'],
    ['vault://secret/teams/ml/', 'secret', 'teams/ml'],
    ['vault://team%2Fkv/tfa', 'team/kv', 'tfa'],
    ['vault://secret', 'secret', ''],
    ['VAULT://kv/Mixed-Case', 'kv', 'Mixed-Case'],
  ];
  for (const [url, mount, path] of valid) {
    it(`parses ${url}`, () => {
      assert.deepEqual(parseVaultUrl(url), { mount, path });
    });
  }

  for (const url of ['vault://', 'vault:///', 'vault://secret/../other', 'vault://secret/tfa?x=1', 'vault://%E0%A4%A/tfa']) {
    it(`rejects ${url}`, () => {
      assert.throws(() => parseVaultUrl(url), storeError('store_url_invalid', url));
    });
  }
});

describe('vault settings', () => {
  it('defaults the address like vault', async () => {
    const settings = await readVaultSettings({ VAULT_TOKEN: 't' });
    assert.equal(settings.address.href, `${DEFAULT_VAULT_ADDR}/`);
    assert.equal(settings.timeoutMs, 60_000);
    assert.equal(settings.namespace, undefined);
    assert.equal(settings.ca, undefined);
  });

  it('prefers VAULT_TOKEN, then AppRole, then the token file', async () => {
    const home = await tempFolder();
    await writeFile(join(home, '.vault-token'), 'hvs.from-file\n');

    const both = await readVaultSettings({ HOME: home, VAULT_TOKEN: 'hvs.env', VAULT_ROLE_ID: 'role' });
    assert.deepEqual(both.credentials, { kind: 'token', token: 'hvs.env', source: 'VAULT_TOKEN' });

    const appRole = await readVaultSettings({ HOME: home, VAULT_ROLE_ID: 'role', VAULT_SECRET_ID: 'secret' });
    assert.deepEqual(appRole.credentials, { kind: 'approle', roleId: 'role', secretId: 'secret' });

    const file = await readVaultSettings({ HOME: home });
    assert.deepEqual(file.credentials, { kind: 'token', token: 'hvs.from-file', source: join(home, '.vault-token') });
  });

  it('rejects missing credentials', async () => {
    const home = await tempFolder();
    await assert.rejects(readVaultSettings({ HOME: home }), storeError('vault_credentials_missing', 'VAULT_TOKEN', 'vault login'));
    await assert.rejects(readVaultSettings({ HOME: home, VAULT_SECRET_ID: 's3cr3t-id' }), (error: unknown) => {
      storeError('vault_credentials_missing', 'VAULT_ROLE_ID')(error);
      assert.doesNotMatch((error as Error).message, /s3cr3t-id/);
      return true;
    });
  });

  it('parses VAULT_CLIENT_TIMEOUT', async () => {
    assert.equal((await readVaultSettings({ VAULT_TOKEN: 't', VAULT_CLIENT_TIMEOUT: '15' })).timeoutMs, 15_000);
    assert.equal((await readVaultSettings({ VAULT_TOKEN: 't', VAULT_CLIENT_TIMEOUT: '20s' })).timeoutMs, 20_000);
    assert.equal((await readVaultSettings({ VAULT_TOKEN: 't', VAULT_CLIENT_TIMEOUT: '2m' })).timeoutMs, 120_000);
    await assert.rejects(readVaultSettings({ VAULT_TOKEN: 't', VAULT_CLIENT_TIMEOUT: '1h30m' }), storeError('vault_timeout_invalid', '1h30m'));
  });

  it('rejects an invalid VAULT_ADDR', async () => {
    await assert.rejects(readVaultSettings({ VAULT_TOKEN: 't', VAULT_ADDR: 'vault.example:8200' }), storeError('vault_addr_invalid'));
    await assert.rejects(readVaultSettings({ VAULT_TOKEN: 't', VAULT_ADDR: 'not a url' }), storeError('vault_addr_invalid', 'not a url'));
  });

  it('reads VAULT_CAPATH and rejects bad CA files', async () => {
    const folder = await tempFolder();
    await writeFile(join(folder, 'a.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await writeFile(join(folder, 'b.pem'), '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n');
    const settings = await readVaultSettings({ VAULT_TOKEN: 't', VAULT_CAPATH: folder });
    assert.match(settings.ca ?? '', /AAAA[\s\S]*BBBB/);

    await assert.rejects(readVaultSettings({ VAULT_TOKEN: 't', VAULT_CACERT: join(folder, 'missing.pem') }), storeError('vault_ca_unreadable', 'missing.pem', 'VAULT_CACERT'));
    await writeFile(join(folder, 'plain.txt'), 'not a certificate');
    await assert.rejects(readVaultSettings({ VAULT_TOKEN: 't', VAULT_CACERT: join(folder, 'plain.txt') }), storeError('vault_ca_invalid', 'plain.txt'));
  });
});

describe('vault store', () => {
  it('keeps each account as a KV v2 secret', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      assert.ok(store instanceof VaultStore);
      assert.equal(await store.write('ml-prod', record(), 0), 1);
      assert.equal(await store.write('ml-prod', record('renamed'), 1), 2);

      assert.deepEqual(vault.secret('secret', 'tfa/ml-prod'), { formatVersion: 1, record: record('renamed') });
      assert.equal(vault.version('secret', 'tfa/ml-prod'), 2);
      assert.match(store.location, /^vault:\/\/secret\/tfa \(Vault at http:\/\/127\.0\.0\.1:\d+\)$/);
      await store.close();
    });
  });

  it('sends check-and-set with every write', async () => {
    await withFakeVault(
      async (vault) => {
        const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
        assert.equal(await store.write('ml-prod', record(), 0), 1);
        assert.equal(await store.write('ml-prod', record(), 1), 2);
        const writes = vault.requests.filter((request) => request.method === 'POST');
        assert.deepEqual(writes.map((request) => request.status), [200, 200]);
        await store.close();
      },
      { casRequired: ['secret'] },
    );
  });

  it('sends X-Vault-Request on every request', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      await store.read('ml-prod');
      assert.ok(vault.requests.length >= 3);
      for (const request of vault.requests) assert.equal(request.headers['x-vault-request'], 'true');
      await store.close();
    });
  });

  it('names both versions in a conflict', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      await store.write('ml-prod', record(), 0);
      await store.write('ml-prod', record(), 1);

      await assert.rejects(store.write('ml-prod', record(), 1), (error: unknown) => {
        assert.ok(error instanceof StoreConflictError);
        assert.match(error.message, /account "ml-prod" in vault:\/\/secret\/tfa .* is at version 2, not the expected version 1/);
        assert.match(error.message, /\(Vault on secret\/data\/tfa\/ml-prod: check-and-set parameter did not match the current version\)\.$/);
        return true;
      });
      assert.equal(vault.casMismatches, 1);
      await store.close();
    });
  });

  it('retries a journal write that lost the race', async () => {
    await withFakeVault(async (vault) => {
      const env = envFor(vault);
      const [first, second] = await Promise.all([openStore('vault://secret/tfa', { env }), openStore('vault://secret/tfa', { env })]);
      await first.write('ml-prod', { methods: [], backupCodes: [] }, 0);
      const journals = await Promise.all([Journal.open(first, 'ml-prod'), Journal.open(second, 'ml-prod')]);

      await Promise.all([
        journals[0].update((next) => void next.methods.push(record('from-first').methods[0]!)),
        journals[1].update((next) => void next.methods.push(record('from-second').methods[0]!)),
      ]);

      assert.equal(vault.casMismatches, 1, 'the second writer got one conflict');
      const stored = vault.secret('secret', 'tfa/ml-prod') as { record: AccountRecord };
      assert.deepEqual(stored.record.methods.map((method) => method.label).sort(), ['from-first', 'from-second']);
      assert.equal(vault.version('secret', 'tfa/ml-prod'), 3);
      await Promise.all([first.close(), second.close()]);
    });
  });

  it('reads a deleted latest version as empty', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      await store.write('ml-prod', record(), 0);
      vault.softDeleteLatest('secret', 'tfa/ml-prod');

      const read = await store.read('ml-prod');
      assert.deepEqual(read, { record: { methods: [], backupCodes: [] }, version: 1 });
      assert.equal(await store.write('ml-prod', record('restored'), read.version), 2);
      await store.close();
    });
  });

  it('lists only accounts, not folders', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      await store.write('b-two', record(), 0);
      await store.write('a-one', record(), 0);
      const nested = await openStore('vault://secret/tfa/nested', { env: envFor(vault) });
      await nested.write('deep', record(), 0);

      assert.deepEqual(await store.list(), ['a-one', 'b-two']);
      assert.deepEqual(await nested.list(), ['deep']);
      await Promise.all([store.close(), nested.close()]);
    });
  });

  it('uses a mount with a slash and an empty path', async () => {
    await withFakeVault(
      async (vault) => {
        const store = await openStore('vault://team%2Fkv', { env: envFor(vault) });
        await store.write('ml-prod', record(), 0);
        assert.deepEqual(vault.secret('team/kv', 'ml-prod'), { formatVersion: 1, record: record() });
        assert.deepEqual(await store.list(), ['ml-prod']);
        await store.close();
      },
      { mounts: { 'team/kv': 2 } },
    );
  });

  it('rejects account names that leave the path', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      for (const account of ['', '..', 'a/b']) {
        await assert.rejects(store.read(account), storeError('store_invalid_account'));
      }
      await store.close();
    });
  });
});

describe('vault store errors', () => {
  it('names the path for a wrong token', async () => {
    await withFakeVault(async (vault) => {
      const token = 'hvs.WRONG-token-123';
      const error = await rejection(openStore('vault://secret/tfa', { env: envFor(vault, { VAULT_TOKEN: token }) }));

      storeError('store_permission_denied', 'secret/metadata/tfa', 'permission denied', 'HTTP 403', 'VAULT_TOKEN')(error);
      assert.ok(!`${error.message} ${error.hint}`.includes(token), 'the token is not in the message');
    });
  });

  it('names the path when a write is denied', async () => {
    await withFakeVault(async (vault) => {
      vault.addReadOnlyToken('hvs.reader');
      const store = await openStore('vault://secret/tfa', { env: envFor(vault, { VAULT_TOKEN: 'hvs.reader' }) });
      assert.deepEqual(await store.read('ml-prod'), { record: { methods: [], backupCodes: [] }, version: 0 });

      await assert.rejects(store.write('ml-prod', record(), 0), storeError('store_permission_denied', 'write the record of account "ml-prod" at secret/data/tfa/ml-prod', 'permission denied'));
      await store.close();
    });
  });

  it('reports a sealed Vault', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      vault.seal();

      await assert.rejects(store.read('ml-prod'), storeError('store_unavailable', 'secret/data/tfa/ml-prod', 'Vault is sealed', 'HTTP 503', 'Unseal'));
      await assert.rejects(openStore('vault://secret/tfa', { env: envFor(vault) }), storeError('store_unavailable', 'Vault is sealed'));
      vault.unseal();
      assert.equal((await store.read('ml-prod')).version, 0);
      await store.close();
    });
  });

  it('reports an unknown mount', async () => {
    await withFakeVault(async (vault) => {
      await assert.rejects(openStore('vault://nosuch/tfa', { env: envFor(vault) }), storeError('store_not_found', 'nosuch/metadata/tfa', 'no handler for route', 'VAULT_NAMESPACE'));
    });
  });

  it('rejects a KV version 1 mount', async () => {
    await withFakeVault(
      async (vault) => {
        await assert.rejects(openStore('vault://legacy/tfa', { env: envFor(vault) }), storeError('vault_mount_invalid', '"legacy"', 'KV version 1', 'vault kv enable-versioning legacy'));
      },
      { mounts: { legacy: 1 } },
    );
  });

  it('reports an unreachable server', async () => {
    const port = await freePort();
    const error = await rejection(openStore('vault://secret/tfa', { env: { VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_TOKEN: 'hvs.unused-token' } }));
    storeError('store_unreachable', `Vault at http://127.0.0.1:${port}`, 'ECONNREFUSED', 'VAULT_ADDR')(error);
    assert.doesNotMatch(`${error.message} ${error.hint}`, /unused-token/);
  });

  it('rejects a secret of another shape without its values', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      await postSecret(vault, 'secret/data/tfa/hand-made', { formatVersion: 1, record: { methods: [{ label: 'x', type: 'totp', seed: SEED }], backupCodes: [] } });
      await postSecret(vault, 'secret/data/tfa/future', { formatVersion: 2, record: {} });
      await postSecret(vault, 'secret/data/tfa/other', { password: SEED });

      const shape = await rejection(store.read('hand-made'));
      storeError('store_invalid', 'secret/data/tfa/hand-made', 'methods[0]')(shape);
      assert.doesNotMatch(shape.message, new RegExp(SEED));
      await assert.rejects(store.read('future'), storeError('store_format_unsupported', 'format version 2'));
      await assert.rejects(store.read('other'), storeError('store_invalid', 'formatVersion'));
      await store.close();
    });
  });

  it('retries 502 and gives up on 429', async () => {
    await withFakeVault(async (vault) => {
      const store = await openStore('vault://secret/tfa', { env: envFor(vault) });
      vault.failNext(2, 502);
      assert.equal((await store.read('ml-prod')).version, 0);

      vault.failNext(3, 429, ['request path "secret/data/tfa/ml-prod": rate limit quota exceeded']);
      await assert.rejects(store.read('ml-prod'), storeError('store_rate_limited', 'rate limit quota exceeded', 'HTTP 429'));
      await store.close();
    });
  });
});

describe('vault store namespace', () => {
  it('sends VAULT_NAMESPACE', async () => {
    await withFakeVault(
      async (vault) => {
        const store = await openStore('vault://secret/tfa', { env: envFor(vault, { VAULT_NAMESPACE: 'team-a/' }) });
        await store.write('ml-prod', record(), 0);
        assert.ok(vault.requests.every((request) => request.namespace === 'team-a/'));
        assert.match(store.location, /namespace team-a\//);
        await store.close();

        await assert.rejects(openStore('vault://secret/tfa', { env: envFor(vault) }), storeError('store_not_found', 'no handler for route'));
      },
      { namespace: 'team-a' },
    );
  });
});

describe('vault store AppRole', () => {
  const appRole = { roleId: 'role-1234', secretId: 'secret-id-5678' };

  it('logs in with VAULT_ROLE_ID and VAULT_SECRET_ID', async () => {
    await withFakeVault(
      async (vault) => {
        const env = { VAULT_ADDR: vault.url, VAULT_ROLE_ID: appRole.roleId, VAULT_SECRET_ID: appRole.secretId, HOME: '/nonexistent' };
        const store = (await openStore('vault://secret/tfa', { env })) as VaultStore;
        assert.equal(await store.write('ml-prod', record(), 0), 1);
        assert.equal(store.logins, 1);
        assert.ok(vault.requests.filter((request) => request.path !== '/v1/auth/approle/login').every((request) => request.tokenValid));
        await store.close();
      },
      { appRole },
    );
  });

  it('logs in again after the token is revoked', async () => {
    await withFakeVault(
      async (vault) => {
        const env = { VAULT_ADDR: vault.url, VAULT_ROLE_ID: appRole.roleId, VAULT_SECRET_ID: appRole.secretId, HOME: '/nonexistent' };
        const store = (await openStore('vault://secret/tfa', { env })) as VaultStore;
        const firstToken = vault.requests.find((request) => request.path !== '/v1/auth/approle/login')?.headers['x-vault-token'];
        assert.equal(typeof firstToken, 'string');
        vault.revokeToken(firstToken as string);

        assert.equal(await store.write('ml-prod', record(), 0), 1);
        assert.equal(store.logins, 2);
        await store.close();
      },
      { appRole },
    );
  });

  it('logs in again before the lease ends', async () => {
    await withFakeVault(
      async (vault) => {
        const env = { VAULT_ADDR: vault.url, VAULT_ROLE_ID: appRole.roleId, VAULT_SECRET_ID: appRole.secretId, HOME: '/nonexistent' };
        const store = (await openStore('vault://secret/tfa', { env })) as VaultStore;
        assert.equal(store.logins, 1);

        // The lease is 1 s and the store renews with a tenth of it left.
        await delay(950);
        assert.equal(await store.write('ml-prod', record(), 0), 1);
        assert.equal(store.logins, 2);
        assert.deepEqual(vault.requests.filter((request) => request.status === 403), [], 'no request used an expired token');
        await store.close();
      },
      { appRole: { ...appRole, leaseSeconds: 1 } },
    );
  });

  it('rejects a wrong secret ID without echoing it', async () => {
    await withFakeVault(
      async (vault) => {
        const env = { VAULT_ADDR: vault.url, VAULT_ROLE_ID: appRole.roleId, VAULT_SECRET_ID: 'wrong-secret-id-999', HOME: '/nonexistent' };
        const error = await rejection(openStore('vault://secret/tfa', { env }));
        storeError('vault_login_failed', 'invalid role or secret ID', 'VAULT_SECRET_ID')(error);
        assert.doesNotMatch(`${error.message} ${error.hint}`, /wrong-secret-id-999/);
      },
      { appRole },
    );
  });
});

const OPENSSL = '/usr/bin/openssl';

describe('vault store TLS', { skip: existsSync(OPENSSL) ? false : `openssl is not installed at ${OPENSSL}` }, () => {
  it('trusts the CA in VAULT_CACERT', async () => {
    const folder = await tempFolder();
    const tls = await selfSignedCertificate(folder);
    await withFakeVault(
      async (vault) => {
        assert.match(vault.url, /^https:/);
        const untrusted = await rejection(openStore('vault://secret/tfa', { env: envFor(vault) }));
        storeError('store_unreachable', 'VAULT_CACERT')(untrusted);

        const store = await openStore('vault://secret/tfa', { env: envFor(vault, { VAULT_CACERT: join(folder, 'cert.pem') }) });
        assert.equal(await store.write('ml-prod', record(), 0), 1);
        assert.equal((await store.read('ml-prod')).version, 1);
        await store.close();
      },
      { tls },
    );
  });
});

/** Makes a self-signed certificate for 127.0.0.1 with openssl, which serves as its own CA. */
async function selfSignedCertificate(folder: string): Promise<{ key: string; cert: string }> {
  await mkdir(folder, { recursive: true });
  const keyPath = join(folder, 'key.pem');
  const certPath = join(folder, 'cert.pem');
  await promisify(execFile)(OPENSSL, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
}

/** Writes a secret straight to the fake server, as another tool would. */
async function postSecret(vault: FakeVault, path: string, data: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${vault.url}/v1/${path}`, {
    method: 'POST',
    headers: { 'X-Vault-Token': vault.rootToken, 'Content-Type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  assert.equal(response.status, 200);
}

/** Returns a loopback port that nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(typeof address === 'object' && address !== null, 'the server has a TCP address');
  return address.port;
}
