import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

import { StoreError } from './errors.js';
import { errorMessage, isErrorCode } from './fs-errors.js';

export interface LockFileOptions {
  /** Maximum time to wait for another process's lock, in milliseconds. @default 10000 */
  timeoutMs?: number;
  /** Age in milliseconds after which a lock is stale and may be taken over. @default 30000 */
  staleMs?: number;
}

/** Contents of a lock file, so that a waiting process can name the holder and detect a dead one. */
interface LockOwner {
  pid: number;
  host: string;
  /** ISO 8601. */
  createdAt: string;
  /** Random value that distinguishes this holder's lock from a later one at the same path. */
  token: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_MS = 30_000;
const RETRY_MIN_MS = 25;
const RETRY_JITTER_MS = 50;

/**
 * Runs `task` while holding the lock file `lockPath`, which is created with O_EXCL and
 * contains the pid, host and time of its holder. A lock older than `staleMs`, or one whose
 * pid is dead on this host, is taken over. When another process holds a live lock for
 * longer than `timeoutMs`, this throws StoreError `store_locked` naming the lock file.
 */
export async function withLockFile<T>(lockPath: string, task: () => Promise<T>, options: LockFileOptions = {}): Promise<T> {
  let owner: LockOwner;
  try {
    owner = await acquireLock(lockPath, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.staleMs ?? DEFAULT_STALE_MS);
  } catch (error) {
    if (error instanceof StoreError) {
      throw error;
    }
    throw lockFailedError(lockPath, error);
  }

  try {
    return await task();
  } finally {
    await releaseLock(lockPath, owner);
  }
}

async function acquireLock(lockPath: string, timeoutMs: number, staleMs: number): Promise<LockOwner> {
  const deadline = Date.now() + timeoutMs;
  const owner: LockOwner = {
    pid: process.pid,
    host: hostname(),
    createdAt: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
  };

  for (;;) {
    owner.createdAt = new Date().toISOString();
    if (await tryCreateLock(lockPath, owner)) {
      return owner;
    }

    const holder = await readLock(lockPath);
    if (holder === undefined) {
      // The holder released the lock between our attempt and the read.
      continue;
    }
    if (isStale(holder, staleMs)) {
      await removeStaleLock(lockPath, holder);
      continue;
    }

    if (Date.now() >= deadline) {
      throw lockedError(lockPath, holder, timeoutMs);
    }
    await delay(RETRY_MIN_MS + Math.random() * RETRY_JITTER_MS);
  }
}

/** Creates the lock file with O_EXCL, and returns false when it exists already. */
async function tryCreateLock(lockPath: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, 'wx', 0o600);
  } catch (error) {
    if (isErrorCode(error, 'EEXIST')) {
      return false;
    }
    throw lockFailedError(lockPath, error);
  }

  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * A lock file as read from disk. `owner` is undefined when the contents cannot be parsed,
 * for example while the holder is still writing them.
 */
interface LockOnDisk {
  owner: LockOwner | undefined;
  /** The contents as read, compared before a stale lock is removed. */
  text: string;
  /** Time of last modification, in epoch milliseconds. */
  mtimeMs: number;
}

async function readLock(lockPath: string): Promise<LockOnDisk | undefined> {
  try {
    const [text, stats] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    return { owner: parseOwner(text), text, mtimeMs: stats.mtimeMs };
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) {
      return undefined;
    }
    throw error;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) {
      return undefined;
    }
    const { pid, host, createdAt, token } = value as Record<string, unknown>;
    if (typeof pid !== 'number' || typeof host !== 'string' || typeof createdAt !== 'string' || typeof token !== 'string') {
      return undefined;
    }
    return { pid, host, createdAt, token };
  } catch {
    return undefined;
  }
}

function isStale(lock: LockOnDisk, staleMs: number): boolean {
  const createdMs = lock.owner === undefined ? lock.mtimeMs : Date.parse(lock.owner.createdAt);
  // An unparsable time counts as old, because nothing could ever refresh it.
  if (!Number.isFinite(createdMs) || Date.now() - createdMs > staleMs) {
    return true;
  }

  return lock.owner !== undefined && lock.owner.host === hostname() && !isProcessAlive(lock.owner.pid);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return !isErrorCode(error, 'ESRCH');
  }
}

/**
 * Removes a stale lock unless another process replaced it in the meantime. The lock is first
 * renamed aside, which only one remover can do, and its contents are compared with what was
 * judged stale. A fresh lock moved aside by mistake is linked back.
 */
async function removeStaleLock(lockPath: string, stale: LockOnDisk): Promise<void> {
  const asidePath = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockPath, asidePath);
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) {
      return;
    }
    throw error;
  }

  const moved = await readFile(asidePath, 'utf8').catch(() => undefined);
  if (moved !== undefined && moved !== stale.text) {
    // NOTE: if a third process creates a new lock between the rename and this link, the link
    // fails, and both that process and the holder of the moved lock believe they hold it.
    await link(asidePath, lockPath).catch(() => undefined);
  }
  await rm(asidePath, { force: true });
}

/** Deletes the lock file if it is still ours, and not a later holder's that took over a stale one. */
async function releaseLock(lockPath: string, owner: LockOwner): Promise<void> {
  const current = await readLock(lockPath);
  if (current?.owner?.token !== owner.token) {
    return;
  }
  await rm(lockPath, { force: true });
}

function lockFailedError(lockPath: string, error: unknown): StoreError {
  return new StoreError('store_lock_failed', `Cannot take the store lock file ${lockPath}: ${errorMessage(error)}.`, {
    hint: 'Check that the store folder exists and that you may write to it.',
  });
}

function lockedError(lockPath: string, holder: LockOnDisk, timeoutMs: number): StoreError {
  const holderDescription =
    holder.owner === undefined
      ? 'another process'
      : `process ${holder.owner.pid} on host ${holder.owner.host} since ${holder.owner.createdAt}`;
  return new StoreError(
    'store_locked',
    `The store lock file ${lockPath} is held by ${holderDescription}. Waited ${(timeoutMs / 1000).toFixed(1)} s for it.`,
    { hint: `Wait for that run to finish and retry. If no tfa-gitops process is running, delete ${lockPath}.` },
  );
}
