/**
 * `tfa-gitops import --account NAME`: prints a manifest for an account's live 2FA state, ready
 * to commit once the lines marked FILL IN hold real values. A placeholder phone number keeps
 * the live number's last four digits, so the manifest matches the account as it is.
 */

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VastClient } from '../../api/client.js';
import { resolveApiKey } from '../../api/key.js';
import type { LiveMethod, TfaStatus } from '../../api/types.js';
import { TfaError } from '../../errors.js';
import { lastFour } from '../../plan/verifier.js';
import { openStore } from '../../store/open.js';
import { type AccountRecord, emptyRecord } from '../../store/types.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { serverUrl } from '../session.js';

export interface ImportFlags {
  account: string;
  store?: string;
}

const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const DEFAULT_STORE = 'file://.tfa-gitops/secrets.age';

/** Reads the account's store record when the store exists; importing never creates a store. */
async function readRecord(storeUrl: string, account: string, io: CliIo): Promise<AccountRecord> {
  let url = storeUrl;
  if (url.startsWith('file://') && !url.startsWith('file:///')) url = pathToFileURL(resolve(io.cwd, url.slice('file://'.length))).href;
  if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) return emptyRecord();

  const store = await openStore(url, { env: io.env });
  try {
    return (await store.read(account)).record;
  } finally {
    await store.close();
  }
}

function methodLines(method: LiveMethod, usedLabels: Set<string>, record: AccountRecord): string[] {
  const lines: string[] = [];
  let label = method.label ?? '';
  let labelNote = '';
  if (label === '' || usedLabels.has(label)) {
    label = `${method.method}-${method.id}`;
    labelNote = method.label === null
      ? '  # FILL IN: the method has no label on the account; apply will set this one'
      : `  # FILL IN: another method is also labelled ${JSON.stringify(method.label)}; apply will rename this one`;
  }
  usedLabels.add(label);

  lines.push(`      - label: ${JSON.stringify(label)}${labelNote}`);
  lines.push(`        type: ${method.method}`);
  if (method.is_primary) lines.push('        primary: true');
  if (method.method === 'sms') {
    const digits = lastFour(method.phone_number ?? '').padStart(4, '0');
    lines.push(`        phone: "+1000000${digits}"  # FILL IN: the full E.164 number; the account shows ${method.phone_number ?? 'no number'}`);
    lines.push('        codes: prompt  # FILL IN: how SMS codes reach the tool: prompt, { env: NAME } or { command: ... }');
  }
  if (method.method === 'totp' && !record.methods.some((r) => r.methodId === method.id && r.state !== 'pending')) {
    lines.push('        # The store holds no seed for this method, so the tool cannot make its codes: plan will propose a repair.');
  }
  return lines;
}

/** Renders the manifest text for one account's status. */
export function renderImport(account: string, storeUrl: string, status: TfaStatus, record: AccountRecord, when: Date): string {
  const usedLabels = new Set<string>();
  const lines = [
    `# Imported from the live state of account "${account}" on ${when.toISOString()} by tfa-gitops import.`,
    '# Replace every value marked FILL IN before you commit.',
    'apiVersion: tfa-gitops/v1',
    'kind: TwoFactorManifest',
    `store: ${storeUrl}`,
    'accounts:',
    `  - name: ${account}`,
    '    # apiKey: { env: VAST_API_KEY_NAME }  # without it, --api-key or VAST_API_KEY is used',
    '    emailCodes: prompt  # FILL IN: how emailed codes reach the tool: prompt, { env: NAME } or { command: ... }',
  ];

  if (status.methods.length === 0) {
    lines.push('    methods: []  # the account has no 2FA method', '    allowDisable: true');
  } else {
    lines.push('    methods:');
    for (const method of status.methods) lines.push(...methodLines(method, usedLabels, record));
  }
  lines.push('    unmanaged: report');
  return `${lines.join('\n')}\n`;
}

export async function importCommand(flags: ImportFlags, options: GlobalOptions, io: CliIo): Promise<number> {
  if (!ACCOUNT_NAME.test(flags.account)) {
    throw new TfaError('invalid_account_name', `invalid account name "${flags.account}"`, {
      hint: 'use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
    });
  }
  const key = resolveApiKey({ ...(options.apiKey ? { flag: options.apiKey } : {}), env: io.env, homeDir: io.env.HOME ?? homedir() });
  if (!key) {
    throw new TfaError('api_key_missing', 'import needs the account\'s API key', { hint: 'pass --api-key or export VAST_API_KEY' });
  }

  const client = new VastClient({ baseUrl: serverUrl(options, io), apiKey: key.key, retries: options.retry, ...(io.signal ? { signal: io.signal } : {}) });
  const storeUrl = flags.store ?? DEFAULT_STORE;
  const [status, record] = await Promise.all([client.getStatus(), readRecord(storeUrl, flags.account, io)]);
  io.stdout.write(renderImport(flags.account, storeUrl, status, record, new Date()));
  return 0;
}
