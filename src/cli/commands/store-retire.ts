/**
 * `tfa-gitops store retire ACCOUNT`: after 2FA was reset outside tfa-gitops, marks the
 * account's stored seeds retired and its backup codes used, so that the next plan enrolls
 * afresh. Nothing is deleted: the old seeds stay in the store for audit.
 */

import { Journal } from '../../apply/journal.js';
import { TfaError } from '../../errors.js';
import { loadManifest } from '../../manifest/load.js';
import { openStore } from '../../store/open.js';
import { type CliIo, logLine } from '../io.js';
import { manifestPaths } from '../session.js';

export interface RetireFlags {
  file?: string[];
}

export async function storeRetireCommand(account: string, flags: RetireFlags, io: CliIo): Promise<number> {
  const manifest = await loadManifest(manifestPaths(flags.file, io), { cwd: io.cwd });
  if (!manifest.accounts.some((a) => a.name === account)) {
    throw new TfaError('account_not_found', `account "${account}" is not in the manifest`, {
      hint: `name one of: ${manifest.accounts.map((a) => a.name).join(', ')}`,
    });
  }

  const store = await openStore(manifest.store, { env: io.env, onNotice: (message) => logLine(io, 'store', { message }), baseDir: io.cwd });
  try {
    const journal = await Journal.open(store, account);
    let seeds = 0;
    let codes = 0;
    const time = new Date().toISOString();
    await journal.update((record) => {
      seeds = 0;
      codes = 0;
      for (const method of record.methods) {
        if (method.state === 'retired') continue;
        method.state = 'retired';
        method.updatedAt = time;
        seeds++;
      }
      for (const code of record.backupCodes) {
        if (code.used) continue;
        code.used = true;
        code.usedAt = time;
        codes++;
      }
      delete record.userId;
    });
    io.stdout.write(`Retired ${seeds} seed(s) and ${codes} backup code(s) of account "${account}" in ${store.location}; nothing was deleted.\n`);
    return 0;
  } finally {
    await store.close();
  }
}
