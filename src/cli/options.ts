/** Global options, shared by every command. */

import { resolve } from 'node:path';

import { InvalidArgumentError } from 'commander';

import type { CliIo } from './io.js';

export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  retry: number;
  explain: boolean;
  debug: boolean;
}

export const DEFAULT_URL = 'https://console.vast.ai';
export const DEFAULT_MANIFEST = 'tfa-gitops.yaml';

/** Returns the manifest paths given with -f as absolute paths, or the default manifest's. */
export function manifestPaths(files: string[] | undefined, io: CliIo): string[] {
  const given = files && files.length > 0 ? files : [DEFAULT_MANIFEST];
  return given.map((file) => resolve(io.cwd, file));
}

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

/** Default for `--parallelism`: accounts planned or applied at once. */
export const DEFAULT_PARALLELISM = 8;
const MAX_PARALLELISM = 256;

export function parseParallelism(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARALLELISM) {
    throw new InvalidArgumentError(`--parallelism takes a whole number from 1 to ${MAX_PARALLELISM}, got "${value}"`);
  }
  return count;
}

/** Parses `--stale-after DAYS`: a number of days greater than 0, fractions allowed. */
export function parseStaleAfter(value: string): number {
  const days = Number(value);
  if (value.trim() === '' || !Number.isFinite(days) || days <= 0) {
    throw new InvalidArgumentError(`--stale-after takes a number of days greater than 0, e.g. 90, got "${value}"`);
  }
  return days;
}

/** Adds each use of a repeatable option to the list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export type OutputFormat = 'human' | 'json' | 'markdown' | 'junit';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['human', 'json', 'markdown', 'junit'];
