/** Random values the emulator hands out: API keys, challenge tokens, codes and seeds. */

import { randomBytes, randomInt } from 'node:crypto';
import { generateSecret } from 'otplib';

/** Number of codes in one set of backup codes. */
export const BACKUP_CODES_PER_SET = 10;

/** Letters and digits of backup codes, without 0/O and 1/I/L, which read alike. */
const BACKUP_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** Generates an API key: 24 random bytes as 32 base64url characters. */
export function newApiKey(): string {
  return randomBytes(24).toString('base64url');
}

/** Generates a challenge token for SMS, email and authorization challenges. */
export function newChallengeSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Generates a session key for the login response. */
export function newSessionKey(): string {
  return randomBytes(32).toString('hex');
}

/** Generates a 6-digit code as a string, leading zeros kept. */
export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** Generates a TOTP seed: 20 random bytes as 32 base32 characters. */
export function newTotpSeed(): string {
  return generateSecret({ length: 20 });
}

/** Generates a set of backup codes in the form `XXXX-XXXX-XXXX`, all different. */
export function newBackupCodes(): string[] {
  const codes = new Set<string>();
  while (codes.size < BACKUP_CODES_PER_SET) {
    codes.add([newBackupCodeGroup(), newBackupCodeGroup(), newBackupCodeGroup()].join('-'));
  }
  return [...codes];
}

function newBackupCodeGroup(): string {
  let group = '';
  for (let i = 0; i < 4; i += 1) {
    group += BACKUP_CODE_ALPHABET[randomInt(0, BACKUP_CODE_ALPHABET.length)];
  }
  return group;
}
