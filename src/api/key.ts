import { readFileSync } from 'node:fs';
import path from 'node:path';

import { TfaError } from '../errors.js';

/** Keys shorter than this show no characters in their hint, because 4 would give away too much. */
const MIN_KEY_LENGTH_FOR_HINT = 12;

/** Returns the form in which a key may be shown: "...a3f9", its last 4 characters. */
export function keyHint(apiKey: string): string {
  if (apiKey.length < MIN_KEY_LENGTH_FOR_HINT) {
    return '...';
  }
  return `...${apiKey.slice(-4)}`;
}

/**
 * Returns the `vastai` command-line tool's key file: `$XDG_CONFIG_HOME/vastai/vast_api_key`,
 * or `~/.config/vastai/vast_api_key`. An empty or relative XDG_CONFIG_HOME is ignored, as
 * the XDG Base Directory specification requires.
 */
export function apiKeyFilePath(env: NodeJS.ProcessEnv, homeDir: string): string {
  const xdgConfigHome = env['XDG_CONFIG_HOME'];
  const configDir = xdgConfigHome !== undefined && path.isAbsolute(xdgConfigHome)
    ? xdgConfigHome
    : path.join(homeDir, '.config');
  return path.join(configDir, 'vastai', 'vast_api_key');
}

/**
 * Finds the API key: the `--api-key` flag, then VAST_API_KEY, then the `vastai` tool's key
 * file. Returns the key with the place it came from (`--api-key`, `VAST_API_KEY` or the
 * file's path), or undefined when none of them has one.
 *
 * An empty VAST_API_KEY is skipped, because CI systems often set a missing secret to "".
 * An empty flag or an empty or unreadable key file throws, because the user pointed at it.
 */
export function resolveApiKey(options: { flag?: string; env: NodeJS.ProcessEnv; homeDir: string }): { key: string; source: string } | undefined {
  if (options.flag !== undefined) {
    const key = options.flag.trim();
    if (key === '') {
      throw new TfaError('api_key_invalid', 'The --api-key value is empty.', {
        hint: 'Pass the key itself, or leave out --api-key to use VAST_API_KEY or the vastai key file.',
      });
    }
    return { key, source: '--api-key' };
  }

  const fromEnv = options.env['VAST_API_KEY']?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    return { key: fromEnv, source: 'VAST_API_KEY' };
  }

  const file = apiKeyFilePath(options.env, options.homeDir);
  const contents = readKeyFile(file);
  if (contents === undefined) {
    return undefined;
  }
  const key = contents.trim();
  if (key === '') {
    throw new TfaError('api_key_invalid', `The API key file ${file} is empty.`, {
      hint: 'Write the key into it, or pass --api-key or VAST_API_KEY.',
    });
  }
  return { key, source: file };
}

function readKeyFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return undefined;
    }
    throw new TfaError('api_key_unreadable', `Could not read the API key file ${file}: ${code ?? String(error)}.`, {
      hint: 'Fix the file permissions, or pass --api-key or VAST_API_KEY.',
      cause: error,
    });
  }
}
