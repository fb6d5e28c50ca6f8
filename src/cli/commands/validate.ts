/** `tfa-gitops validate`: reads the manifest and checks it, without network or store. */

import { loadManifest } from '../../manifest/load.js';
import type { CliIo } from '../io.js';
import { manifestPaths } from '../options.js';

export async function validateCommand(files: string[] | undefined, io: CliIo): Promise<number> {
  const manifest = await loadManifest(manifestPaths(files, io));
  const methods = manifest.accounts.reduce((sum, account) => sum + account.methods.length, 0);
  io.stdout.write(
    `The manifest is valid: ${manifest.accounts.length} account(s), ${methods} method(s) in ${manifest.files.length} file(s).\n`,
  );
  return 0;
}
