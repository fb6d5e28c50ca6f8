/** Resolution of the manifest's `store` URL against the manifest's folder. */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Store used when a manifest names none, relative to the manifest's folder. */
export const DEFAULT_STORE_URL = 'file://.tfa-gitops/secrets.age';

/**
 * Returns the store URL with a file path made absolute: `file:///abs/dir/.tfa-gitops/secrets.age`.
 *
 * Accepted file forms, where `baseDir` is the manifest's folder:
 * - `file://relative/path` and `file:relative/path`: relative to `baseDir`. Strictly, the
 *   first names a host, but the manifest format defines it as a relative path;
 * - `file:///abs/path` and `file:/abs/path`: absolute, percent-decoded as URLs are;
 * - a bare path, relative or absolute.
 * Any other scheme (`vault://`, `exec://`, `env://`) is returned unchanged. Returns undefined
 * for a file URL without a path (`file://`).
 */
export function resolveStoreUrl(store: string, baseDir: string): string | undefined {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(store)?.[1];

  // A one-letter scheme is a Windows drive letter (C:\...), so the value is a bare path.
  if (scheme === undefined || scheme.length === 1) return pathToFileURL(resolve(baseDir, store)).href;
  if (scheme.toLowerCase() !== 'file') return store;

  const rest = store.slice(scheme.length + 1);
  if (rest.startsWith('///') || (rest.startsWith('/') && !rest.startsWith('//'))) {
    return pathToFileURL(fileURLToPath(`file://${rest.replace(/^\/+/, '/')}`)).href;
  }

  const relativePath = rest.startsWith('//') ? rest.slice(2) : rest;
  if (relativePath === '') return undefined;
  const absolutePath = isAbsolute(relativePath) ? relativePath : resolve(baseDir, relativePath);
  return pathToFileURL(absolutePath).href;
}
