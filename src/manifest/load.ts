/**
 * The manifest loader: reads manifest files or folders, validates them against the schema
 * and returns typed desired state. Every problem found becomes one ManifestError.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { buildDesiredState } from './desired.js';
import { parseManifestText } from './document.js';
import { ManifestError, problemAt, sortProblems, type ManifestProblem } from './errors.js';
import { findNode, startOffset, type SourceText } from './position.js';
import { describeSchemaErrors } from './schema-errors.js';
import { DEFAULT_STORE_URL, resolveStoreUrl } from './store-url.js';
import type { DesiredAccount, Manifest } from './types.js';
import { validateManifestData } from './validator.js';

/** The manifest read when no path is given, relative to the current folder. */
export const DEFAULT_MANIFEST_FILE = 'tfa-gitops.yaml';

export interface LoadManifestOptions {
  /**
   * Folder that relative paths are resolved against, and that the file names in messages
   * and positions are shown relative to. Defaults to `process.cwd()`.
   */
  cwd?: string;
}

/** A manifest file as the loader reads it. */
interface ManifestFileRef {
  absolutePath: string;
  /** Path relative to the working folder when the file is inside it, else absolute. */
  displayPath: string;
}

/**
 * One file's contribution to the manifest, with the offsets that the checks across files
 * report problems at. The YAML document is not kept: with many files, keeping every file's
 * document until the last one is read made the loader's memory grow with the whole fleet.
 */
interface LoadedFile {
  source: SourceText;
  baseDir: string;
  store: string | undefined;
  /** Offset of the `store` value, when the file sets one. */
  storeOffset: number;
  accounts: DesiredAccount[];
  /** Offset of each account's `name` value, in the order of `accounts`. */
  nameOffsets: number[];
}

/**
 * Reads the manifest from files and folders and returns the desired state of every account.
 *
 * A folder contributes every `*.yaml` and `*.yml` file directly inside it, sorted by name,
 * and ignores names that start with a dot. Without paths, `tfa-gitops.yaml` in the working
 * folder is read. Account names must be unique across all files, and files that set
 * `store` must agree on it. When no file sets it, the default store is resolved against the
 * folder of the first file.
 *
 * Throws ManifestError listing every problem found, each with its file, line and column.
 */
export async function loadManifest(paths: string[], options: LoadManifestOptions = {}): Promise<Manifest> {
  const cwd = options.cwd ?? process.cwd();
  const requestedPaths = paths.length > 0 ? paths : [DEFAULT_MANIFEST_FILE];
  const files = await listManifestFiles(requestedPaths, cwd);
  const displayPaths = files.map((file) => file.displayPath);

  const loaded: LoadedFile[] = [];
  const problems: ManifestProblem[] = [];
  for (const ref of files) {
    const result = await loadFile(ref);
    if ('problems' in result) problems.push(...result.problems);
    else loaded.push(result);
  }

  // Rules across files need every file to be valid, so they wait for a clean first pass.
  if (problems.length === 0) problems.push(...findDuplicateAccounts(loaded));
  const store = problems.length === 0 ? resolveStore(loaded, problems) : undefined;

  if (problems.length > 0) throw new ManifestError('manifest_invalid', sortProblems(problems, displayPaths));
  // listManifestFiles returns at least one file, so a store is always resolved by here.
  if (store === undefined) throw new Error('no manifest file was read');

  return { files: displayPaths, store, accounts: loaded.flatMap((file) => file.accounts) };
}

async function loadFile(ref: ManifestFileRef): Promise<LoadedFile | { problems: ManifestProblem[] }> {
  const text = await readManifestText(ref);
  const parsed = parseManifestText(ref.displayPath, text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) return { problems: parsed.problems };

  const schemaProblems = describeSchemaErrors(parsed.file, validateManifestData(parsed.file.data));
  if (schemaProblems.length > 0) return { problems: schemaProblems };

  const baseDir = dirname(ref.absolutePath);
  const state = buildDesiredState(parsed.file, baseDir);
  if (state.problems.length > 0) return { problems: state.problems };

  const { doc, source } = parsed.file;
  return {
    source,
    baseDir,
    store: state.store,
    storeOffset: startOffset(findNode(doc, ['store'])),
    accounts: state.accounts,
    nameOffsets: state.accounts.map((_, index) => startOffset(findNode(doc, ['accounts', String(index), 'name']))),
  };
}

/** Expands folders into their YAML files and drops repeats, keeping the first occurrence. */
async function listManifestFiles(paths: readonly string[], cwd: string): Promise<ManifestFileRef[]> {
  const refs: ManifestFileRef[] = [];
  const seen = new Set<string>();

  for (const path of paths) {
    const absolutePath = resolve(cwd, path);
    const display = displayPath(absolutePath, cwd);
    const info = await stat(absolutePath).catch((error: unknown) => {
      throw readError(display, error);
    });

    const found = info.isDirectory() ? await listFolder(absolutePath, display) : [absolutePath];
    for (const file of found) {
      if (seen.has(file)) continue;
      seen.add(file);
      refs.push({ absolutePath: file, displayPath: displayPath(file, cwd) });
    }
  }

  return refs;
}

async function listFolder(folder: string, display: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((error: unknown) => {
    throw readError(display, error);
  });

  const names = entries
    .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    // The default sort compares UTF-16 code units, so the order does not depend on the locale.
    .sort();

  if (names.length === 0) {
    const message = 'the folder contains no *.yaml or *.yml file; add a manifest to it, or pass -f PATH to read another one';
    throw new ManifestError('manifest_not_found', [{ file: display, message }]);
  }
  return names.map((name) => join(folder, name));
}

async function readManifestText(ref: ManifestFileRef): Promise<string> {
  try {
    return await readFile(ref.absolutePath, 'utf8');
  } catch (error) {
    throw readError(ref.displayPath, error);
  }
}

/** Turns a file system error into a ManifestError that names the path and the fix. */
function readError(display: string, error: unknown): ManifestError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;

  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const message = 'manifest file not found; pass -f PATH to read another one ' +
      `(without -f, tfa-gitops reads ${DEFAULT_MANIFEST_FILE} in the current folder)`;
    return new ManifestError('manifest_not_found', [{ file: display, message }], { cause: error });
  }

  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'the path is a folder, not a file',
  };
  const reason = reasons[code ?? ''] ?? (error as Error).message;
  const message = `cannot read the manifest: ${reason}; check that the file is readable, or pass -f PATH to read another one`;
  return new ManifestError('manifest_unreadable', [{ file: display, message }], { cause: error });
}

/** Reports each account name that an earlier account, in any file, already uses. */
function findDuplicateAccounts(files: readonly LoadedFile[]): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const firstByName = new Map<string, DesiredAccount>();

  for (const { source, accounts, nameOffsets } of files) {
    accounts.forEach((account, index) => {
      const first = firstByName.get(account.name);
      if (first === undefined) {
        firstByName.set(account.name, account);
        return;
      }

      const firstAt = `${first.position.file}:${first.position.line}`;
      const message = `account name "${account.name}" is used twice, at ${firstAt} and here; ` +
        'account names must be unique across all manifest files, so rename or remove one of them';
      problems.push(problemAt(source, nameOffsets[index] ?? 0, message));
    });
  }

  return problems;
}

/**
 * Returns the store URL that the files agree on, or the default next to the first file.
 * Adds a problem, and returns undefined, when two files name different stores.
 */
function resolveStore(files: readonly LoadedFile[], problems: ManifestProblem[]): string | undefined {
  let chosen: { url: string; file: LoadedFile } | undefined;

  for (const loaded of files) {
    if (loaded.store === undefined) continue;

    const offset = loaded.storeOffset;
    const url = resolveStoreUrl(loaded.store, loaded.baseDir);
    if (url === undefined) {
      const message = `store ${JSON.stringify(loaded.store)} names no file; write a path, e.g. store: ${DEFAULT_STORE_URL}`;
      problems.push(problemAt(loaded.source, offset, message));
      return undefined;
    }

    if (chosen === undefined) {
      chosen = { url, file: loaded };
    } else if (chosen.url !== url) {
      const firstAt = `${chosen.file.source.file}:${positionLine(chosen.file)}`;
      const message = `store ${JSON.stringify(loaded.store)} differs from the store set at ${firstAt} (${chosen.url}); ` +
        'all manifest files must name the same store, so set it in one file only or make them equal';
      problems.push(problemAt(loaded.source, offset, message));
      return undefined;
    }
  }

  if (chosen !== undefined) return chosen.url;

  const first = files[0];
  return first === undefined ? undefined : resolveStoreUrl(DEFAULT_STORE_URL, first.baseDir);
}

function positionLine(loaded: LoadedFile): number {
  return loaded.source.lineCounter.linePos(loaded.storeOffset).line;
}

function displayPath(absolutePath: string, cwd: string): string {
  const fromCwd = relative(cwd, absolutePath);
  const isOutside = fromCwd === '..' || fromCwd.startsWith(`..${sep}`) || isAbsolute(fromCwd);
  const isInside = fromCwd !== '' && !isOutside;
  return isInside ? fromCwd : absolutePath;
}
