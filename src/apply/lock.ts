/**
 * The per-account apply lock, kept in the store record so that every process that shares the
 * store sees it. It names its holder and expires, so a lock left by a killed run does not
 * block the account for ever.
 */

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { TfaError } from '../errors.js';
import type { LockRecord } from '../store/types.js';
import type { Journal } from './journal.js';

/** How long a lock lasts without its holder releasing it. */
export const LOCK_TTL_MS = 15 * 60 * 1000;

export class LockedError extends TfaError {}

export function describeLock(lock: LockRecord): string {
  return `pid ${lock.pid} on ${lock.host}, started ${lock.startedAt}, expires ${lock.expiresAt}`;
}

export function isExpired(lock: LockRecord, nowMs: number): boolean {
  return Date.parse(lock.expiresAt) <= nowMs;
}

/** Takes the account's lock; returns a note when it replaced an expired one. */
export async function acquireLock(journal: Journal, nowMs = Date.now()): Promise<{ token: string; replaced?: LockRecord }> {
  const token = randomUUID();
  let replaced: LockRecord | undefined;
  await journal.update((record) => {
    const held = record.lock;
    // A lock whose holder process is gone from this host is as good as expired: a killed run
    // must not block the next one for the rest of the lock's lifetime.
    if (held && held.token !== token && !isExpired(held, nowMs) && holderState(held) !== 'gone') {
      throw new LockedError('account_locked', `account "${journal.account}" is locked by another apply (${describeLock(held)})`, {
        hint: `wait for it to finish, or run "tfa-gitops unlock ${journal.account}" if that run is gone`,
      });
    }
    replaced = held && held.token !== token ? held : undefined;
    record.lock = {
      host: hostname(),
      pid: process.pid,
      startedAt: new Date(nowMs).toISOString(),
      expiresAt: new Date(nowMs + LOCK_TTL_MS).toISOString(),
      token,
    };
  });
  return replaced ? { token, replaced } : { token };
}

/**
 * Tells whether the lock's holder still runs: `running` or `gone` for a process on this
 * host, `unknown` for one on another host, which cannot be checked from here.
 * NOTE: a process id that an unrelated process reused also reads as `running`.
 */
export function holderState(lock: LockRecord): 'running' | 'gone' | 'unknown' {
  if (lock.host !== hostname()) return 'unknown';
  if (lock.pid === process.pid) return 'running';
  try {
    process.kill(lock.pid, 0);
    return 'running';
  } catch (error) {
    // EPERM means that the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'gone';
  }
}

/**
 * Removes the account's lock whoever holds it, and returns the lock it removed, or undefined
 * when there was none. `tfa-gitops unlock` calls it once the user has decided that the
 * holder is gone.
 */
export async function breakLock(journal: Journal): Promise<LockRecord | undefined> {
  let removed: LockRecord | undefined;
  if (journal.record.lock === undefined) return undefined;

  await journal.update((record) => {
    removed = record.lock;
    delete record.lock;
  });
  return removed;
}

/** Releases the lock if this run still holds it. */
export async function releaseLock(journal: Journal, token: string): Promise<void> {
  await journal.update((record) => {
    if (record.lock?.token === token) delete record.lock;
  });
}
