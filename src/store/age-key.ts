import { armor, Decrypter, Encrypter } from 'age-encryption';

import { StoreError } from './errors.js';
import type { IdentityFile } from './identity.js';

/** The key that encrypts and decrypts a store file: X25519 keys or a passphrase. */
export interface AgeKey {
  readonly kind: 'identity' | 'passphrase';
  /** The key's name in messages, such as "the identity file /srv/identity.txt". It never contains key material. */
  readonly description: string;
  encrypt(plaintext: string): Promise<Uint8Array>;
  /** Decrypts a binary or armored age file, or throws StoreError naming `storePath` and this key. */
  decrypt(file: Uint8Array, storePath: string): Promise<string>;
}

/** Name of the variable that contains the store's passphrase. Messages name the variable, never its value. */
export const PASSPHRASE_VARIABLE = 'TFA_GITOPS_PASSPHRASE';

/** scrypt work factor (log2 N) of age and age-encryption 0.3: about 1.5 s per operation in pure JS. */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18;

const ARMOR_HEADER = '-----BEGIN AGE ENCRYPTED FILE-----';

/** Encrypts to the recipients of an identity file's keys, and decrypts with those keys. */
export class IdentityKey implements AgeKey {
  readonly kind = 'identity';
  readonly description: string;
  readonly #identityFile: IdentityFile;

  constructor(identityFile: IdentityFile) {
    this.#identityFile = identityFile;
    this.description = `the identity file ${identityFile.path}`;
  }

  async encrypt(plaintext: string): Promise<Uint8Array> {
    // NOTE: a store encrypted by hand to further recipients (age -r A -r B) is re-encrypted
    // to this identity file's keys alone, so the other recipients lose access.
    const encrypter = new Encrypter();
    for (const recipient of this.#identityFile.recipients) {
      encrypter.addRecipient(recipient);
    }
    return encrypter.encrypt(plaintext);
  }

  async decrypt(file: Uint8Array, storePath: string): Promise<string> {
    const decrypter = new Decrypter();
    for (const identity of this.#identityFile.identities) {
      decrypter.addIdentity(identity);
    }
    return decryptStoreFile(decrypter, file, storePath, this);
  }
}

/** Encrypts and decrypts with an scrypt passphrase. */
export class PassphraseKey implements AgeKey {
  readonly kind = 'passphrase';
  readonly description = `the passphrase in ${PASSPHRASE_VARIABLE}`;
  readonly #passphrase: string;
  readonly #workFactor: number;

  constructor(passphrase: string, workFactor = DEFAULT_SCRYPT_WORK_FACTOR) {
    this.#passphrase = passphrase;
    this.#workFactor = workFactor;
  }

  async encrypt(plaintext: string): Promise<Uint8Array> {
    const encrypter = new Encrypter();
    encrypter.setPassphrase(this.#passphrase);
    encrypter.setScryptWorkFactor(this.#workFactor);
    return encrypter.encrypt(plaintext);
  }

  async decrypt(file: Uint8Array, storePath: string): Promise<string> {
    const decrypter = new Decrypter();
    decrypter.addPassphrase(this.#passphrase);
    return decryptStoreFile(decrypter, file, storePath, this);
  }
}

async function decryptStoreFile(decrypter: Decrypter, file: Uint8Array, storePath: string, key: AgeKey): Promise<string> {
  let binary: Uint8Array;
  try {
    binary = dearmor(file);
  } catch {
    throw damagedError(storePath, 'its ASCII armor is invalid');
  }

  try {
    return await decryptInPieces(decrypter, binary);
  } catch (error) {
    // Library messages are mapped to fixed sentences and the cause is dropped, so that no
    // message can carry key material.
    throw decryptError(error, binary, storePath, key);
  }
}

/** Size of the views of the file that the decrypter reads: age's own chunk size, 64 KiB. */
const FEED_CHUNK_BYTES = 64 * 1024;

/**
 * Decrypts `binary` to text, feeding it to the decrypter in views and decoding each chunk as
 * it arrives. Given the whole file, age-encryption 0.3 copies it once more and collects the
 * plaintext twice, so decrypting a 14 MB store (10,000 accounts) needed about 70 MB at once.
 */
async function decryptInPieces(decrypter: Decrypter, binary: Uint8Array): Promise<string> {
  let offset = 0;
  const input = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= binary.length) {
        controller.close();
        return;
      }
      controller.enqueue(binary.subarray(offset, offset + FEED_CHUNK_BYTES));
      offset += FEED_CHUNK_BYTES;
    },
  });

  // A damaged payload fails while the output is read, so the caller's catch covers it too.
  const reader = (await decrypter.decrypt(input)).getReader();
  const decoder = new TextDecoder();
  const pieces: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pieces.push(decoder.decode(value, { stream: true }));
  }
  pieces.push(decoder.decode());
  return pieces.join('');
}

/** Returns the binary age file inside an armored one, or the input when it is not armored. */
function dearmor(file: Uint8Array): Uint8Array {
  const start = new TextDecoder('latin1').decode(file.subarray(0, 64)).trimStart();
  if (!start.startsWith(ARMOR_HEADER)) {
    return file;
  }
  return armor.decode(new TextDecoder().decode(file));
}

function decryptError(error: unknown, binary: Uint8Array, storePath: string, key: AgeKey): StoreError {
  const message = error instanceof Error ? error.message : '';
  const stanzaTypes = readStanzaTypes(binary);

  if (stanzaTypes === undefined || message.includes('invalid version')) {
    return new StoreError('store_not_age', `The store ${storePath} is not an age-encrypted file.`, {
      hint: `Move ${storePath} aside, or point the manifest's store at the right file.`,
    });
  }

  if (!message.includes('no identity matched')) {
    return damagedError(storePath, 'it is damaged or truncated');
  }

  const usesPassphrase = stanzaTypes.includes('scrypt');
  if (key.kind === 'identity' && usesPassphrase) {
    return new StoreError('store_decrypt_failed', `Cannot decrypt the store ${storePath} because it is encrypted with a passphrase and ${PASSPHRASE_VARIABLE} is not set.`, {
      hint: `Set ${PASSPHRASE_VARIABLE} to the store's passphrase.`,
    });
  }
  if (key.kind === 'passphrase' && !usesPassphrase) {
    return new StoreError('store_decrypt_failed', `Cannot decrypt the store ${storePath} with ${key.description} because it is encrypted to age keys, not with a passphrase.`, {
      hint: `Unset ${PASSPHRASE_VARIABLE} and provide the store's identity file through TFA_GITOPS_IDENTITY or as identity.txt next to the store.`,
    });
  }
  if (key.kind === 'passphrase') {
    return new StoreError('store_decrypt_failed', `Cannot decrypt the store ${storePath} because ${key.description} is wrong.`, {
      hint: `Set ${PASSPHRASE_VARIABLE} to the passphrase the store was encrypted with.`,
    });
  }
  return new StoreError('store_decrypt_failed', `Cannot decrypt the store ${storePath} because no key in ${key.description} matches its recipients.`, {
    hint: 'Set TFA_GITOPS_IDENTITY to the identity file the store was encrypted for.',
  });
}

function damagedError(storePath: string, reason: string): StoreError {
  return new StoreError('store_damaged', `Cannot decrypt the store ${storePath} because ${reason}.`, {
    hint: `Restore ${storePath} from a backup or from version control history.`,
  });
}

/**
 * Returns the stanza types of an age header ("X25519", "scrypt", ...), or undefined when
 * the file does not start with the age version line.
 */
function readStanzaTypes(binary: Uint8Array): string[] | undefined {
  const header = new TextDecoder('latin1').decode(binary.subarray(0, 8192));
  const lines = header.split('\n');
  if (lines[0] !== 'age-encryption.org/v1') {
    return undefined;
  }

  const types: string[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith('---')) {
      break;
    }
    if (line.startsWith('-> ')) {
      types.push(line.slice(3).split(' ')[0] ?? '');
    }
  }
  return types;
}
