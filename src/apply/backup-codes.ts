/**
 * Backup codes: stored the moment a response carries them, before anything else happens.
 * When the store cannot take them, they go to a rescue file and the run ends with its path.
 */

import { TfaError } from '../errors.js';
import type { AccountRun } from './context.js';
import { emit } from './context.js';
import { rescueFolders, writeRescueFile } from './rescue.js';

export async function storeBackupCodes(run: AccountRun, codes: string[]): Promise<void> {
  const issuedAt = new Date().toISOString();
  try {
    await run.journal.update((record) => {
      record.backupCodes = codes.map((code) => ({ code, used: false }));
      record.backupCodesIssuedAt = issuedAt;
    });
  } catch (error) {
    throw await rescue(run, codes, error);
  }
  emit(run, `stored ${codes.length} new backup codes`);
}

/**
 * Marks every stored backup code used before a regeneration is sent. The server invalidates
 * them all when it acts, so if its response is lost (or the run is killed), the store must
 * not go on counting them. The next plan then counts too few and regenerates again.
 */
export async function retireBackupCodes(run: AccountRun): Promise<void> {
  if (run.journal.record.backupCodes.every((c) => c.used)) return;

  const usedAt = new Date().toISOString();
  await run.journal.update((record) => {
    for (const code of record.backupCodes) {
      if (code.used) continue;
      code.used = true;
      code.usedAt = usedAt;
    }
  });
}

/** Saves codes that the store rejected to a rescue file, and returns the error that ends the run. */
async function rescue(run: AccountRun, codes: string[], storeError: unknown): Promise<TfaError> {
  const account = run.desired.name;
  const reason = storeError instanceof Error ? storeError.message : String(storeError);
  const issued = `the server issued ${codes.length} backup codes for "${account}" but the store could not be written (${reason})`;

  let path: string;
  try {
    path = await writeRescueFile(account, codes, rescueFolders(run.options.store.location));
  } catch (fileError) {
    const fileReason = fileError instanceof Error ? fileError.message : String(fileError);
    return new TfaError('backup_codes_lost', `${issued}, and no rescue file could be written either (${fileReason})`, {
      cause: storeError,
      hint: 'fix the store, then run apply again: the plan regenerates the codes',
    });
  }

  emit(run, `saved ${codes.length} backup codes that the store rejected to ${path}`, 'warning');
  return new TfaError('backup_codes_not_stored', `${issued}; they are saved in ${path}, readable by you alone`, {
    cause: storeError,
    hint: `fix the store, then run apply again: the plan regenerates the codes. Until then the codes in ${path} are valid; delete the file afterwards`,
  });
}
