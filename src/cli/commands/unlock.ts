/** `tfa-gitops unlock ACCOUNT`: removes the apply lock that a killed or lost run left. */

import { breakLock, describeLock, holderState, isExpired } from '../../apply/lock.js';
import { Journal } from '../../apply/journal.js';
import { TfaError } from '../../errors.js';
import { loadManifest } from '../../manifest/load.js';
import { editDistance } from '../../manifest/suggest.js';
import { openStore } from '../../store/open.js';
import { type CliIo, logLine } from '../io.js';
import { manifestPaths } from '../session.js';

export interface UnlockFlags {
  file?: string[];
  force?: boolean;
}

export async function unlockCommand(account: string, flags: UnlockFlags, io: CliIo): Promise<number> {
  const manifest = await loadManifest(manifestPaths(flags.file, io));
  const desired = manifest.accounts.find((a) => a.name === account);
  if (desired === undefined) {
    const names = manifest.accounts.map((a) => a.name);
    const near = names.find((name) => editDistance(name, account) <= 2);
    throw new TfaError('unknown_account', `the manifest has no account "${account}"${near === undefined ? '' : `; did you mean "${near}"?`}`, {
      hint: `name one of: ${names.join(', ')}`,
    });
  }

  const store = await openStore(manifest.store, {
    env: io.env,
    baseDir: desired.baseDir,
    onNotice: (message) => logLine(io, 'store', { message }),
  });
  try {
    const journal = await Journal.open(store, account);
    const lock = journal.record.lock;
    if (lock === undefined) {
      io.stdout.write(`Account "${account}" is not locked.\n`);
      return 0;
    }

    // A run that still works on the account must keep its lock: two applies at once could
    // both enroll a method, and one seed would be lost.
    const expired = isExpired(lock, Date.now());
    if (!expired && holderState(lock) === 'running' && flags.force !== true) {
      throw new TfaError('lock_held', `account "${account}" is locked by a running apply (${describeLock(lock)})`, {
        hint: `wait for it to finish, or stop it; pass --force only if that process is not a tfa-gitops apply`,
      });
    }

    const removed = await breakLock(journal);
    if (removed === undefined) {
      io.stdout.write(`Account "${account}" is not locked.\n`);
      return 0;
    }
    io.stdout.write(`Released the lock of account "${account}" (${describeLock(removed)}${expired ? ', expired' : ''}).\n`);
    return 0;
  } finally {
    await store.close();
  }
}
