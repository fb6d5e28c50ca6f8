import { generate, verify } from 'otplib';

import { TfaError } from '../errors.js';
import { normalizeSeed } from './seed.js';

/** Length of one TOTP time step, in seconds (RFC 6238's default, used by Vast.ai). */
export const TOTP_STEP_SECONDS = 30;

export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpOptions {
  /** @default 6 */
  digits?: 6 | 7 | 8;
  /** @default 'sha1' */
  algorithm?: TotpAlgorithm;
}

/** Returns the TOTP time step that contains `epochSeconds`. */
export function totpStep(epochSeconds: number): number {
  return Math.floor(epochSeconds / TOTP_STEP_SECONDS);
}

/**
 * Generates the TOTP code of `seed` for the step containing `epochSeconds`. The code is a
 * string, so leading zeros are kept. The seed may be written with spaces, dashes, padding
 * or in lower case.
 */
export async function generateTotp(seed: string, epochSeconds: number, options: TotpOptions = {}): Promise<string> {
  const digits = options.digits ?? 6;
  // otplib 13 does not validate `digits`, so a 4 or an 11 would silently produce a code.
  if (digits !== 6 && digits !== 7 && digits !== 8) {
    throw new TfaError('invalid_totp_option', `Invalid TOTP digits ${String(digits)}: expected 6, 7 or 8.`);
  }
  assertEpoch(epochSeconds);

  return generate({
    secret: normalizeSeed(seed),
    epoch: epochSeconds,
    period: TOTP_STEP_SECONDS,
    digits,
    algorithm: options.algorithm ?? 'sha1',
  });
}

/**
 * Checks a 6- to 8-digit SHA-1 code against `seed` at `epochSeconds`, accepting any step
 * that overlaps `[epochSeconds - toleranceSeconds, epochSeconds + toleranceSeconds]`.
 * The default tolerance of 30 seconds accepts one step either side, as Vast.ai does.
 * A code of another length or with non-digits is invalid rather than an error.
 */
export async function verifyTotp(
  seed: string,
  code: string,
  epochSeconds: number,
  toleranceSeconds = TOTP_STEP_SECONDS,
): Promise<{ valid: false } | { valid: true; step: number }> {
  assertEpoch(epochSeconds);
  // otplib throws on a token of the wrong length or with non-digits.
  if (!/^\d{6,8}$/.test(code)) {
    return { valid: false };
  }

  const result = await verify({
    secret: normalizeSeed(seed),
    token: code,
    epoch: epochSeconds,
    epochTolerance: toleranceSeconds,
    period: TOTP_STEP_SECONDS,
    digits: code.length as 6 | 7 | 8,
  });
  if (!result.valid || !('timeStep' in result)) {
    return { valid: false };
  }
  return { valid: true, step: result.timeStep };
}

function assertEpoch(epochSeconds: number): void {
  if (!Number.isFinite(epochSeconds) || epochSeconds < 0) {
    throw new TfaError('invalid_totp_option', `Invalid TOTP time ${String(epochSeconds)}: expected epoch seconds >= 0.`);
  }
}
