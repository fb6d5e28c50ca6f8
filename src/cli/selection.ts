/**
 * Account selection: the accounts of the manifest a run works on, by `--account` patterns
 * and then `--shard K/N`.
 * A shard is chosen by a hash of the account name, not by its position, so adding or
 * removing an account moves no other account to another shard while N stays the same.
 */

import { createHash } from 'node:crypto';
import { InvalidArgumentError } from 'commander';
import { TfaError } from '../errors.js';

export interface Shard {
  /** 1-based: shards are 1/N to N/N, as GitLab's CI_NODE_INDEX counts them. */
  index: number;
  total: number;
}

export interface Selection {
  /** Account names or globs with `*` (any characters) and `?` (one character). */
  patterns: readonly string[];
  shard?: Shard;
}

const MAX_SHARDS = 10_000;

/** Parses `--shard K/N`, e.g. `2/4`. */
export function parseShard(value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(match?.[1]);
  const total = Number(match?.[2]);
  if (!match || total < 1 || total > MAX_SHARDS || index < 1 || index > total) {
    throw new InvalidArgumentError(`--shard takes K/N with 1 <= K <= N <= ${MAX_SHARDS}, e.g. 2/4, got "${value}"`);
  }
  return { index, total };
}

/** Returns the 1-based shard an account name falls in when the fleet is split `total` ways. */
export function shardOf(account: string, total: number): number {
  const digest = createHash('sha256').update(account, 'utf8').digest();
  return (digest.readUInt32BE(0) % total) + 1;
}

/** Turns a glob with `*` and `?` into an anchored regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * Returns the names the selection keeps, in manifest order. Throws when a pattern matches no
 * account, because a typo there would silently skip the accounts it meant.
 */
export function selectAccounts(names: readonly string[], selection: Selection): string[] {
  let chosen = [...names];

  if (selection.patterns.length > 0) {
    const matchers = selection.patterns.map((pattern) => ({ pattern, regexp: globToRegExp(pattern) }));
    for (const { pattern, regexp } of matchers) {
      if (names.some((name) => regexp.test(name))) continue;
      const sample = names.slice(0, 5).join(', ');
      throw new TfaError('account_not_found', `--account "${pattern}" matches no account in the manifest`, {
        hint: names.length === 0 ? 'the manifest lists no account' : `name an account the manifest lists (${sample}${names.length > 5 ? ', ...' : ''}), or use * and ? as wildcards`,
      });
    }
    chosen = chosen.filter((name) => matchers.some(({ regexp }) => regexp.test(name)));
  }

  const shard = selection.shard;
  if (shard) chosen = chosen.filter((name) => shardOf(name, shard.total) === shard.index);
  return chosen;
}
