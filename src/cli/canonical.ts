/** Canonical JSON: object keys sorted at every level, so equal data gives equal text and hashes. */

import { createHash } from 'node:crypto';

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/** Returns the SHA-256 (hex) of the value's canonical JSON. */
export function sha256Canonical(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(sortKeys(value)), 'utf8').digest('hex');
}
