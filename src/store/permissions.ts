import type { Stats } from 'node:fs';

import { StoreError } from './errors.js';

/** Mode bits that let the group or others read, write or execute a file. */
const GROUP_OTHER_BITS = 0o077;

/**
 * Throws StoreError unless only the owner may read and write the file, because a store or
 * identity file that others can read gives away every seed it protects.
 */
export function assertOwnerOnly(path: string, stats: Stats, fileKind: 'store file' | 'identity file'): void {
  const mode = stats.mode & 0o777;
  if (isOwnerOnly(mode)) {
    return;
  }

  throw new StoreError(
    'store_permissions',
    `The ${fileKind} ${path} has mode 0${mode.toString(8)}, which lets other users read or change it.`,
    { hint: `Run: chmod 600 ${path}` },
  );
}

/** Tells whether file mode bits let only the owner read, write or execute the file. */
export function isOwnerOnly(mode: number): boolean {
  return (mode & GROUP_OTHER_BITS) === 0;
}
