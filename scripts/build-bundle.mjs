#!/usr/bin/env node
// Bundles the compiled command line, dist/src/cli/main.js, with its dependencies into
// dist/bundle/, which bin/tfa-gitops.js loads when it is current. A cold start then reads a
// handful of files instead of about 160 modules and their package.json files. Each command's
// module stays behind a dynamic import, and esbuild splits those into chunks of their own,
// so `validate` still loads only the manifest loader, yaml, the validator and commander.
//
// It bundles tsc's output rather than the TypeScript sources, so the bundle runs exactly
// the code that the tests run.
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
const outdir = join(root, 'dist', 'bundle');

// Chunk names carry a hash, so files of an older build would pile up.
await rm(outdir, { recursive: true, force: true });

const result = await build({
  entryPoints: { main: entry },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
  // commander and yaml are CommonJS. In an ES module bundle, esbuild's stand-in for their
  // require() of node built-ins needs a real require in scope.
  banner: { js: "import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);" },
});

// The manifest validator loads its generated CommonJS file from a path relative to its own
// module, which is now a chunk in dist/bundle/.
const validator = join('manifest', 'generated', 'manifest-validator.cjs');
await mkdir(join(outdir, 'generated'), { recursive: true });
await copyFile(join(root, 'dist', 'src', validator), join(outdir, 'generated', 'manifest-validator.cjs'));

// Which modules each chunk contains, for `npx esbuild --analyze`-style questions such as what
// a command loads.
await writeFile(join(outdir, 'metafile.json'), JSON.stringify(result.metafile));

const files = Object.keys(result.metafile.outputs).filter((file) => file.endsWith('.js'));
console.log(`build-bundle: wrote ${files.length} files to ${relative(root, outdir)}`);
