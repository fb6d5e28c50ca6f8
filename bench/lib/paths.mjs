/** Paths of the checkout the benchmark runs in. */

import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'tfa-gitops.js');

/** Returns the URL of a compiled module, e.g. distModule('src/store/identity.js'). */
export function distModule(path) {
  return pathToFileURL(join(ROOT, 'dist', path)).href;
}

/**
 * Names the module that bin/tfa-gitops.js runs, by the same rule: the bundle when it is at
 * least as new as tsc's output, else the compiled modules.
 */
export function entryInUse() {
  const bundle = join(ROOT, 'dist', 'bundle', 'main.js');
  const compiled = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const bundleTime = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
  const compiledTime = statSync(compiled, { throwIfNoEntry: false })?.mtimeMs;
  if (bundleTime !== undefined && (compiledTime === undefined || bundleTime >= compiledTime)) return 'dist/bundle/main.js (the bundle)';
  return 'dist/src/cli/main.js (compiled modules: the bundle is missing or older; run npm run build)';
}
