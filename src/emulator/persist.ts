/** The `--state FILE` option: load the state at start, save it atomically after every change. */

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

import { TfaError } from '../errors.js';
import type { EmulatorState } from './state.js';
import { restoreSnapshot } from './snapshot.js';

/** The state file cannot be read as an emulator state, or cannot be written. */
export class EmulatorStateFileError extends TfaError {
  constructor(path: string, action: 'load' | 'save', problem: string, cause?: unknown) {
    const hint =
      action === 'load'
        ? 'Delete the file to start from an empty state, or pass another --state file.'
        : 'Pass a --state file in a folder that exists and that you can write to.';
    super('emulator_state_invalid', `Cannot ${action} the emulator state ${action === 'load' ? 'from' : 'to'} ${path}: ${problem}.`, {
      hint,
      cause,
    });
  }
}

/**
 * Reads a state file written by `saveStateFile`. Returns undefined when the file does not
 * exist, and throws EmulatorStateFileError when it cannot be read or parsed.
 */
export function loadStateFile(path: string): { state: EmulatorState; clockOffsetSeconds: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EmulatorStateFileError(path, 'load', (error as Error).message, error);
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EmulatorStateFileError(path, 'load', 'it is not valid JSON', error);
  }

  const restored = restoreSnapshot(value);
  if ('problem' in restored) throw new EmulatorStateFileError(path, 'load', restored.problem);
  return restored;
}

/**
 * Writes `text` to `path` through a temporary file in the same folder (mode 0600, synced
 * to disk) and a rename, so a reader never sees half a file and a crash keeps the old one.
 */
export function saveStateFile(path: string, text: string): void {
  const temporaryPath = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

  try {
    const descriptor = openSync(temporaryPath, 'wx', 0o600);
    try {
      writeSync(descriptor, text);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporaryPath, path);
  } catch (error) {
    rmSync(temporaryPath, { force: true });
    throw error;
  }
}
