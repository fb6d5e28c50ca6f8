import { ScureBase32Plugin } from 'otplib';

import { TfaError } from '../errors.js';

/** Seed length limits in bytes after base32 decoding, the same as otplib 13's default guardrails. */
export const MIN_SEED_BYTES = 16;
export const MAX_SEED_BYTES = 64;

const base32 = new ScureBase32Plugin();

/**
 * Normalises a base32 TOTP seed as authenticator apps accept it: spaces, dashes and `=`
 * padding removed, letters upper-cased. Throws TfaError `invalid_seed` when the result is
 * not valid base32 or decodes to fewer than 16 or more than 64 bytes. The message never
 * contains the seed.
 */
export function normalizeSeed(input: string): string {
  const seed = input.replace(/[\s=-]/g, '').toUpperCase();
  if (seed.length === 0) {
    throw invalidSeed('the seed is empty');
  }

  let bytes: Uint8Array;
  try {
    bytes = base32.decode(seed);
  } catch {
    // The decoder's message quotes the offending character, so it is not passed on.
    throw invalidSeed(`the seed (${seed.length} characters) is not valid base32`);
  }

  if (bytes.length < MIN_SEED_BYTES || bytes.length > MAX_SEED_BYTES) {
    throw invalidSeed(`the seed decodes to ${bytes.length} bytes, but a TOTP seed must have ${MIN_SEED_BYTES} to ${MAX_SEED_BYTES}`);
  }
  return seed;
}

function invalidSeed(reason: string): TfaError {
  return new TfaError('invalid_seed', `Invalid TOTP seed: ${reason}.`, {
    hint: 'Use the base32 seed exactly as the service issued it (letters A-Z and digits 2-7).',
  });
}
