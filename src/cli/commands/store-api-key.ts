/**
 * `tfa-gitops store set-api-key NAME`: keeps an API key in the secret store, for manifests
 * whose account says `apiKey: { store: NAME }`. The key is read from standard input, never
 * from the command line, so it stays out of shell history and process lists.
 */

import { Journal } from '../../apply/journal.js';
import { keyHint } from '../../api/key.js';
import { TfaError } from '../../errors.js';
import { loadManifest } from '../../manifest/load.js';
import { resolveStoreUrl } from '../../manifest/store-url.js';
import { openStore } from '../../store/open.js';
import { type CliIo, logLine } from '../io.js';
import { manifestPaths } from '../session.js';

export interface SetApiKeyFlags {
  file?: string[];
  store?: string;
}

const RECORD_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

async function readStdin(io: CliIo): Promise<string> {
  const input = io.stdin ?? process.stdin;
  let text = '';
  for await (const chunk of input) text += chunk.toString();
  return text;
}

export async function setApiKeyCommand(name: string, flags: SetApiKeyFlags, io: CliIo): Promise<number> {
  if (!RECORD_NAME.test(name)) {
    throw new TfaError('invalid_record_name', `invalid record name "${name}"`, {
      hint: 'use lower-case letters, digits, ".", "_" and "-", as in apiKey: { store: ml-prod-key }',
    });
  }
  if (io.interactive) io.stderr.write('Paste the API key, then press Enter and Ctrl-D:\n');
  const key = (await readStdin(io)).trim();
  if (key === '' || /\s/.test(key)) {
    throw new TfaError('api_key_invalid', 'standard input holds no API key, or more than one word', {
      hint: `pipe the key in: tfa-gitops store set-api-key ${name} < KEY_FILE`,
    });
  }

  const url = flags.store === undefined ? (await loadManifest(manifestPaths(flags.file, io), { cwd: io.cwd })).store : resolveStoreUrl(flags.store, io.cwd);
  if (url === undefined) throw new TfaError('store_url_invalid', `invalid --store "${flags.store}"`, { hint: 'write a path or a store URL' });
  const store = await openStore(url, { env: io.env, onNotice: (message) => logLine(io, 'store', { message }), baseDir: io.cwd });
  try {
    const journal = await Journal.open(store, name);
    await journal.update((record) => {
      record.apiKey = key;
    });
    io.stdout.write(`Stored the API key ${keyHint(key)} in record "${name}" of ${store.location}.\n`);
    return 0;
  } finally {
    await store.close();
  }
}
