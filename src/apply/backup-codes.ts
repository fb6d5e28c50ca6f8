/** Backup codes: stored the moment an answer carries them, before anything else happens. */

import { TfaError } from '../errors.js';
import type { AccountRun } from './context.js';
import { emit } from './context.js';

export async function storeBackupCodes(run: AccountRun, codes: string[]): Promise<void> {
  const issuedAt = new Date().toISOString();
  try {
    await run.journal.update((record) => {
      record.backupCodes = codes.map((code) => ({ code, used: false }));
      record.backupCodesIssuedAt = issuedAt;
    });
  } catch (error) {
    throw new TfaError('backup_codes_not_stored', `the server issued ${codes.length} backup codes for "${run.desired.name}" but the store could not be written`, {
      cause: error,
      hint: 'fix the store, then run apply again: the plan regenerates the codes',
    });
  }
  emit(run, `stored ${codes.length} new backup codes`);
}
