/**
 * The rescue file: where backup codes go when the server issued them and the store cannot
 * take them. The server shows a set of codes once, so a file readable by the owner alone is
 * better than losing them.
 */

import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** Returns the folders to try for a rescue file: the store's own folder when it is a local file, then the temporary folder. */
export function rescueFolders(storeLocation: string): string[] {
  const folders: string[] = [];
  if (isAbsolute(storeLocation)) folders.push(dirname(storeLocation));
  folders.push(tmpdir());
  return folders;
}

/** Builds a file name from the account and the time, safe on every file system. */
function rescueFileName(account: string, time: Date): string {
  const stamp = time.toISOString().replace(/[:.]/g, '-');
  const safeAccount = account.replace(/[^A-Za-z0-9._-]/g, '_');
  return `tfa-gitops-rescue-${safeAccount}-${stamp}.json`;
}

/**
 * Writes `codes` to a new file (mode 0600, never overwriting one) in the first folder of
 * `folders` that takes it, syncs it to disk, and returns its path. Throws the last folder's
 * error when none does.
 */
export async function writeRescueFile(account: string, codes: readonly string[], folders: readonly string[], time = new Date()): Promise<string> {
  const text = `${JSON.stringify(
    {
      account,
      issuedAt: time.toISOString(),
      note: 'Backup codes the server issued but tfa-gitops could not store. Each works once. Delete this file once the store holds a new set.',
      backupCodes: codes,
    },
    null,
    2,
  )}\n`;

  let lastError: unknown = new Error('no folder to write the rescue file to');
  for (const folder of folders) {
    const path = join(folder, rescueFileName(account, time));
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return path;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
