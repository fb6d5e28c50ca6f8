import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const PACKAGE_NAME = 'tfa-gitops';

let cachedVersion: string | undefined;

/**
 * Returns the tool's version from its package.json, found by walking up from this file,
 * which sits at src/api/ in a checkout and at dist/src/api/ once built. Returns "unknown"
 * when no package.json named tfa-gitops is found.
 */
export function readToolVersion(): string {
  if (cachedVersion !== undefined) {
    return cachedVersion;
  }

  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const version = readVersionIn(dir);
    if (version !== undefined) {
      cachedVersion = version;
      return version;
    }
    dir = path.dirname(dir);
  }
  cachedVersion = 'unknown';
  return cachedVersion;
}

function readVersionIn(dir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    if (manifest.name === PACKAGE_NAME && typeof manifest.version === 'string') {
      return manifest.version;
    }
  } catch {
    // No package.json here, or not ours: keep walking up.
  }
  return undefined;
}
