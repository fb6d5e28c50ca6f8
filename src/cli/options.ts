/** Global options, shared by every command. */

import { InvalidArgumentError } from 'commander';

export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  retry: number;
  explain: boolean;
  debug: boolean;
}

export const DEFAULT_URL = 'https://console.vast.ai';
export const DEFAULT_MANIFEST = 'tfa-gitops.yaml';

export function parseRetry(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0 || count > 20) {
    throw new InvalidArgumentError(`--retry takes a whole number from 0 to 20, got "${value}"`);
  }
  return count;
}

/** Returns a commander parser for a whole number of at least 0, naming the flag in its error. */
export function parseCount(flag: string): (value: string) => number {
  return (value) => {
    const count = Number(value);
    if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError(`${flag} takes a whole number of at least 0, got "${value}"`);
    return count;
  };
}
