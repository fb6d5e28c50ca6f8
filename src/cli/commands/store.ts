/** `tfa-gitops store migrate`: copies every record from one secret store to another. */

import { resolveStoreUrl } from '../../manifest/store-url.js';
import { migrateStore, type MigratedRecord } from '../../store/migrate.js';
import { openStore } from '../../store/open.js';
import { StoreError } from '../../store/errors.js';
import type { SecretStore } from '../../store/types.js';
import { type CliIo, logLine } from '../io.js';

export interface MigrateFlags {
  from: string;
  to: string;
  force?: boolean;
  account?: string[];
}

/**
 * Opens both stores, copies the records, and prints one line per account and a summary.
 * Relative file paths resolve against the current folder, and exec:// helpers run there.
 */
export async function storeMigrateCommand(flags: MigrateFlags, io: CliIo): Promise<number> {
  const fromUrl = resolveUrl(flags.from, '--from', io.cwd);
  const toUrl = resolveUrl(flags.to, '--to', io.cwd);
  if (fromUrl === toUrl) {
    throw new StoreError('store_migrate_same', `Cannot migrate ${fromUrl} to itself.`, { hint: 'Give --from and --to two different stores.' });
  }

  const onNotice = (message: string): void => logLine(io, 'store', { message });
  const source = await openStore(fromUrl, { env: io.env, onNotice, baseDir: io.cwd });
  let destination: SecretStore | undefined;
  try {
    destination = await openStore(toUrl, { env: io.env, onNotice, baseDir: io.cwd });
    const results = await migrateStore(source, destination, {
      ...(flags.force === true ? { force: true } : {}),
      ...(flags.account !== undefined && flags.account.length > 0 ? { accounts: flags.account } : {}),
    });

    for (const result of results) io.stdout.write(`${describeResult(result)}\n`);
    io.stdout.write(`${summarize(results, source.location, destination.location)}\n`);
    return 0;
  } finally {
    await Promise.all([source.close(), destination?.close()]);
  }
}

function resolveUrl(value: string, option: string, cwd: string): string {
  const url = resolveStoreUrl(value, cwd);
  if (url === undefined) {
    throw new StoreError('store_url_invalid', `Invalid ${option} store "${value}": a file URL needs a path.`, {
      hint: 'Write a path, file://PATH, vault://MOUNT/PATH, exec://COMMAND or env://PREFIX.',
    });
  }
  return url;
}

function describeResult(result: MigratedRecord): string {
  const versions = `source version ${result.sourceVersion}, destination version ${result.destinationVersion}`;
  switch (result.outcome) {
    case 'copied':
      return `copied    ${result.account} (${versions})`;
    case 'replaced':
      return `replaced  ${result.account} (${versions})`;
    case 'unchanged':
      return `unchanged ${result.account} (the destination has the same record)`;
  }
}

function summarize(results: MigratedRecord[], from: string, to: string): string {
  if (results.length === 0) return `No records to migrate: ${from} is empty.`;

  const count = (outcome: MigratedRecord['outcome']): number => results.filter((result) => result.outcome === outcome).length;
  const records = results.length === 1 ? '1 record' : `${results.length} records`;
  return (
    `Migrated ${records} from ${from} to ${to}: ${count('copied')} copied, ${count('replaced')} replaced, ` +
    `${count('unchanged')} unchanged. Each copy was read back and matches; the source was not changed.`
  );
}
