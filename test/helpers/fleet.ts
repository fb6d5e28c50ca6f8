/**
 * A fleet of emulator accounts with a folder manifest: several YAML files in `manifests/`,
 * each account with its own API key in its own environment variable, and a code provider
 * that reads the emulator's outbox for the account named in TFA_GITOPS_ACCOUNT.
 */

import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callApi, createAccount, readState, totpCode } from './emulator.js';

/** Prints the newest outbox code of TFA_GITOPS_CHANNEL for the account TFA_GITOPS_ACCOUNT names. */
const FLEET_OUTBOX_READER = `
const account = process.env.TFA_GITOPS_ACCOUNT ?? '';
const key = process.env['KEY_' + account.toUpperCase().replace(/[^A-Z0-9]/g, '_')];
const channel = process.env.TFA_GITOPS_CHANNEL ?? 'email';
const sentAfter = Number(process.env.TFA_GITOPS_SENT_AFTER ?? 0) - 1;
const answer = await fetch(new URL('/_emulator/outbox', process.env.VAST_URL), { headers: { Authorization: 'Bearer ' + key } });
const { messages } = await answer.json();
const newest = messages.filter((m) => m.channel === channel && m.sent_at >= sentAfter).at(-1);
if (!newest) { console.error('no ' + channel + ' code for ' + account); process.exit(1); }
process.stdout.write(newest.code + '\\n');
`;

export interface FleetAccount {
  name: string;
  id: number;
  apiKey: string;
  /** The environment variable the manifest reads the key from. */
  keyVariable: string;
}

export interface Fleet {
  dir: string;
  accounts: FleetAccount[];
  /** VAST_URL and every account's key variable. */
  env: NodeJS.ProcessEnv;
  byName(name: string): FleetAccount;
}

export function keyVariable(name: string): string {
  return `KEY_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export function accountYaml(name: string, extra = ''): string {
  return `  - name: ${name}
    apiKey: { env: ${keyVariable(name)} }
    emailCodes: { command: node ../read-outbox.mjs, timeoutSeconds: 20 }
    methods:
      - { label: ci-bot, type: totp, primary: true }
    backupCodes: { minRemaining: 8 }
${extra}`;
}

/** Returns the YAML of one manifest file holding `names`. */
export function manifestFile(names: readonly string[]): string {
  return `apiVersion: tfa-gitops/v1
kind: TwoFactorManifest
store: file://../.tfa-gitops/secrets.age
accounts:
${names.map((name) => accountYaml(name)).join('')}`;
}

/**
 * Creates `count` emulator accounts named `svc-01`... and a workspace whose `manifests/`
 * folder splits them over files of `perFile` accounts.
 */
export async function makeFleet(url: string, count: number, perFile = 10): Promise<Fleet> {
  const dir = await mkdtemp(join(tmpdir(), 'tfa-gitops-fleet-'));
  await mkdir(join(dir, 'manifests'));
  await writeFile(join(dir, 'read-outbox.mjs'), FLEET_OUTBOX_READER);

  const accounts: FleetAccount[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `svc-${String(i).padStart(2, '0')}`;
    const created = await createAccount(url);
    accounts.push({ name, id: created.id, apiKey: created.apiKey, keyVariable: keyVariable(name) });
  }
  for (let start = 0; start < count; start += perFile) {
    const names = accounts.slice(start, start + perFile).map((a) => a.name);
    await writeFile(join(dir, 'manifests', `team-${String(start / perFile + 1).padStart(2, '0')}.yaml`), manifestFile(names));
  }

  const env: NodeJS.ProcessEnv = { VAST_URL: url };
  for (const account of accounts) env[account.keyVariable] = account.apiKey;
  const byName = (name: string) => {
    const found = accounts.find((a) => a.name === name);
    if (!found) throw new Error(`no fleet account ${name}`);
    return found;
  };
  return { dir, accounts, env, byName };
}

/** Returns the emulator's view of one account: methods with secrets, backup codes. */
export async function liveAccount(url: string, id: number): Promise<any> {
  const state = await readState(url);
  return state.accounts.find((a: { id: number }) => a.id === id);
}

/** Returns a 6-digit code that is wrong for `secret` at every step the server accepts now. */
export async function wrongTotpCode(secret: string, nowSeconds: number): Promise<string> {
  const valid = new Set(await Promise.all([-30, 0, 30].map((delta) => totpCode(secret, nowSeconds + delta))));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** Sends `count` wrong TOTP codes to log in, which locks the method after 5. */
export async function sendWrongCodes(url: string, apiKey: string, methodId: number, secret: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const now = (await readState(url)).now;
    const code = await wrongTotpCode(secret, now);
    const response = await callApi(url, apiKey, 'POST', '/api/v0/tfa/', { tfa_method: 'totp', code, tfa_method_id: methodId });
    if (response.status === 200) throw new Error('a wrong code was accepted');
  }
}
