/**
 * Builds the files of the benchmarks. The emulator state has accounts that already have one
 * primary TOTP method and ten unused backup codes. For each fleet size, a folder has the
 * manifest files that want exactly that for the first N accounts, and a secret store with
 * their seeds and codes. A plan of such a fleet has no changes, as a nightly run over a
 * settled fleet has, yet reads every account's status and store record.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { generateSecret } from 'otplib';

import { distModule } from './paths.mjs';

const LABEL = 'ci-bot';
const BACKUP_CODES_PER_ACCOUNT = 10;
const BACKUP_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** Prefix of the environment variables that carry the accounts' API keys. */
export const KEY_PREFIX = 'BENCH_KEY_';

/** Returns the name of account number `index` (from 1) and the variable with its API key. */
export function accountNames(index) {
  const digits = String(index).padStart(5, '0');
  return { name: `acct-${digits}`, keyVariable: `${KEY_PREFIX}${digits}` };
}

function backupCode() {
  const characters = [...randomBytes(12)].map((byte) => BACKUP_CODE_ALPHABET[byte % BACKUP_CODE_ALPHABET.length]);
  return `${characters.slice(0, 4).join('')}-${characters.slice(4, 8).join('')}-${characters.slice(8).join('')}`;
}

/** Makes `count` settled accounts: API key, TOTP seed and backup codes of each. */
export function makeSettledAccounts(count) {
  return Array.from({ length: count }, (_, offset) => ({
    index: offset + 1,
    ...accountNames(offset + 1),
    apiKey: randomBytes(24).toString('base64url'),
    seed: generateSecret({ length: 20 }),
    codes: Array.from({ length: BACKUP_CODES_PER_ACCOUNT }, backupCode),
  }));
}

/** Writes the emulator state file with every account in `accounts`, and returns its path. */
export async function writeEmulatorState(dir, accounts) {
  const nowSeconds = Date.now() / 1000;
  const state = {
    format_version: 1,
    now: nowSeconds,
    clock_offset_seconds: 0,
    next_account_id: accounts.length + 1,
    next_method_id: accounts.length + 1,
    accounts: accounts.map((account) => ({
      id: account.index,
      email: `${account.name}@example.com`,
      email_verified: true,
      api_key: account.apiKey,
      methods: [
        {
          id: account.index,
          user_id: account.index,
          method: 'totp',
          label: LABEL,
          phone_number: null,
          secret: account.seed,
          is_primary: true,
          fail_count: 0,
          locked_until: null,
          created_at: nowSeconds - 86_400,
          last_used: null,
          last_accepted_step: null,
          wrong_codes_total: 0,
        },
      ],
      removed_methods: [],
      backup_codes: account.codes.map((code) => ({ code, used: false })),
      issued_seeds: [],
      authorized_until: null,
      email_wrong_codes_total: 0,
    })),
    challenges: [],
    outbox: [],
    sms_sends: {},
  };

  await mkdir(dir, { recursive: true });
  const path = join(dir, 'emulator-state.json');
  await writeFile(path, JSON.stringify(state));
  return path;
}

/** Accounts per manifest file of a fleet, as a team might keep one file per group of accounts. */
export const ACCOUNTS_PER_FILE = 100;

/**
 * Writes the manifest of `accounts` as files of ACCOUNTS_PER_FILE accounts in
 * `dir/manifests/`, each account with its API key in an environment variable. Next to them,
 * `.tfa-gitops/` gets an identity file and a store of their records, and `dir/keys.json`
 * gets the keys for the floor client. Returns the manifest folder, the environment variables
 * that carry the keys, and the path of the keys file.
 */
export async function writeFleetWorkspace(dir, accounts) {
  const createdAt = new Date(Date.now() - 86_400_000).toISOString();
  const manifestDir = join(dir, 'manifests');
  const storeDir = join(manifestDir, '.tfa-gitops');
  await mkdir(storeDir, { recursive: true, mode: 0o700 });

  const records = new Map();
  const env = {};
  for (let first = 0; first < accounts.length; first += ACCOUNTS_PER_FILE) {
    const lines = ['apiVersion: tfa-gitops/v1', 'kind: TwoFactorManifest'];
    // The store is set once; the other files agree with it by leaving it out.
    if (first === 0) lines.push('store: file://.tfa-gitops/secrets.age');
    lines.push('accounts:');

    for (const account of accounts.slice(first, first + ACCOUNTS_PER_FILE)) {
      env[account.keyVariable] = account.apiKey;
      lines.push(
        `  - name: ${account.name}`,
        `    apiKey: { env: ${account.keyVariable} }`,
        '    methods:',
        `      - { label: ${LABEL}, type: totp, primary: true }`,
        '    backupCodes: { minRemaining: 3 }',
      );
      records.set(account.name, {
        version: 1,
        record: {
          methods: [{ label: LABEL, type: 'totp', seed: account.seed, methodId: account.index, state: 'active', createdAt, updatedAt: createdAt }],
          backupCodes: account.codes.map((code) => ({ code, used: false })),
          backupCodesIssuedAt: createdAt,
        },
      });
    }
    const fileNumber = String(first / ACCOUNTS_PER_FILE + 1).padStart(3, '0');
    await writeFile(join(manifestDir, `accounts-${fileNumber}.yaml`), `${lines.join('\n')}\n`);
  }

  await writeStore(storeDir, records);
  const keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify(accounts.map((account) => account.apiKey)));
  return { manifestDir, env, keysFile };
}

/** Encrypts all records at once, in the project's own store format, to a new identity file. */
async function writeStore(storeDir, records) {
  const { createIdentityFile } = await import(distModule('src/store/identity.js'));
  const { IdentityKey } = await import(distModule('src/store/age-key.js'));
  const { serializeContents } = await import(distModule('src/store/store-file.js'));

  const identity = await createIdentityFile(join(storeDir, 'identity.txt'));
  const ciphertext = await new IdentityKey(identity).encrypt(serializeContents({ accounts: records }));
  await writeFile(join(storeDir, 'secrets.age'), ciphertext, { mode: 0o600 });
}

/**
 * Writes a manifest for `accounts` that the emulator has just created without any method:
 * each wants one primary TOTP method, and reads the emailed authorization code with
 * `node read-email-code.mjs`, which this copies next to it. Returns the API key variables.
 */
export async function writeFreshWorkspace(dir, accounts, readerScript) {
  const env = {};
  const lines = ['apiVersion: tfa-gitops/v1', 'kind: TwoFactorManifest', 'store: file://.tfa-gitops/secrets.age', 'accounts:'];
  for (const account of accounts) {
    env[account.keyVariable] = account.apiKey;
    lines.push(
      `  - name: ${account.name}`,
      `    apiKey: { env: ${account.keyVariable} }`,
      '    emailCodes: { command: node read-email-code.mjs, timeoutSeconds: 30 }',
      '    methods:',
      `      - { label: ${LABEL}, type: totp, primary: true }`,
      '    backupCodes: { minRemaining: 3 }',
    );
  }

  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tfa-gitops.yaml'), `${lines.join('\n')}\n`);
  await writeFile(join(dir, 'read-email-code.mjs'), readerScript);
  return env;
}
