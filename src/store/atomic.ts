import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { isErrorCode } from './fs-errors.js';

export interface AtomicWriteOptions {
  /** Fail with EEXIST instead of replacing an existing file. */
  exclusive?: boolean;
}

/**
 * Writes a file so that readers see either the old or the new contents, never a mix, and
 * the new contents survive a crash once the promise resolves. The data goes to a temporary
 * file (mode 0600) in the same folder, which is synced and then renamed over the target,
 * or hard-linked to it when `exclusive` is set. The folder is created with mode 0700 when
 * missing and synced after the rename.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true, mode: 0o700 });

  const tempPath = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tempPath, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tempPath, { force: true });
    throw error;
  }
  await handle.close();

  try {
    if (options.exclusive === true) {
      // link() fails when the target exists, which rename() would silently replace.
      await link(tempPath, path);
      await rm(tempPath, { force: true });
    } else {
      await rename(tempPath, path);
    }
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }

  await syncFolder(folder);
}

/** Syncs a folder, so that a rename or link in it survives a crash. */
async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch (error) {
    // NOTE: some platforms and file systems (Windows, some network mounts) cannot open or
    // sync a folder. There the rename is durable only once the OS flushes it.
    if (!isErrorCode(error, 'EISDIR', 'EINVAL', 'EPERM', 'EACCES')) {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}
