import { readFile, stat } from 'node:fs/promises';

import { generateX25519Identity, identityToRecipient } from 'age-encryption';

import { writeFileAtomic } from './atomic.js';
import { StoreError } from './errors.js';
import { errorMessage, isErrorCode } from './fs-errors.js';
import { assertOwnerOnly } from './permissions.js';

/** An age identity file: its X25519 secret keys and the recipients (public keys) they match. */
export interface IdentityFile {
  path: string;
  identities: string[];
  recipients: string[];
}

const SECRET_KEY_PREFIX = 'AGE-SECRET-KEY-1';

/**
 * Reads an identity file as `age-keygen` writes it: `#` comment lines, blank lines and one
 * `AGE-SECRET-KEY-1...` line per key. Throws StoreError when the file is missing, readable
 * by others, or contains anything but X25519 keys. Messages name the line, never the key.
 */
export async function readIdentityFile(path: string): Promise<IdentityFile> {
  let text: string;
  try {
    assertOwnerOnly(path, await stat(path), 'identity file');
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof StoreError) {
      throw error;
    }
    if (isErrorCode(error, 'ENOENT')) {
      throw new StoreError('store_identity_missing', `The identity file ${path} does not exist.`, {
        hint: 'Set TFA_GITOPS_IDENTITY to the identity file that encrypts the store.',
      });
    }
    throw new StoreError('store_identity_unreadable', `Cannot read the identity file ${path}: ${errorMessage(error)}.`, {
      hint: `Check that ${path} is a file you may read.`,
    });
  }

  const identities: string[] = [];
  const recipients: string[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) {
      continue;
    }

    identities.push(line);
    recipients.push(await recipientOf(line, path, index + 1));
  }

  if (identities.length === 0) {
    throw new StoreError('store_identity_invalid', `The identity file ${path} contains no ${SECRET_KEY_PREFIX}... line.`, {
      hint: 'Create one with age-keygen -o FILE, or point TFA_GITOPS_IDENTITY at the right file.',
    });
  }
  return { path, identities, recipients };
}

/**
 * Creates a new identity file in age-keygen's format with one X25519 key (mode 0600, its
 * folder 0700). Fails with EEXIST rather than replace an existing file.
 */
export async function createIdentityFile(path: string): Promise<IdentityFile> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  // age-keygen writes RFC 3339 time without fractional seconds.
  const created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const text = `# created: ${created}\n# public key: ${recipient}\n${identity}\n`;

  await writeFileAtomic(path, text, { exclusive: true });
  return { path, identities: [identity], recipients: [recipient] };
}

async function recipientOf(line: string, path: string, lineNumber: number): Promise<string> {
  const fix = { hint: `Each non-comment line of ${path} must be an age X25519 key as age-keygen writes it.` };
  if (line.startsWith('AGE-PLUGIN-')) {
    throw new StoreError('store_identity_invalid', `Line ${lineNumber} of the identity file ${path} is an age plugin identity, which tfa-gitops does not support.`, fix);
  }
  if (!line.startsWith(SECRET_KEY_PREFIX)) {
    throw new StoreError('store_identity_invalid', `Line ${lineNumber} of the identity file ${path} is not an ${SECRET_KEY_PREFIX}... key.`, fix);
  }

  try {
    return await identityToRecipient(line);
  } catch {
    // The library's message can quote the key, so neither it nor the cause is passed on.
    throw new StoreError('store_identity_invalid', `Line ${lineNumber} of the identity file ${path} is not a valid age X25519 key (bad checksum or length).`, fix);
  }
}
