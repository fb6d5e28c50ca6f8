/** The whole emulator state as one JSON document, and the check that reads it back. */

import type { EmulatorCore } from './context.js';
import type { EmulatorSnapshot, EmulatorState } from './state.js';

export const SNAPSHOT_FORMAT_VERSION = 1;

/** Copies the state deeply and adds the clock's time and offset; callers may change the copy. */
export function takeSnapshot(core: EmulatorCore): EmulatorSnapshot {
  return {
    format_version: SNAPSHOT_FORMAT_VERSION,
    now: core.clock.nowSeconds(),
    clock_offset_seconds: core.clock.offsetSeconds(),
    ...structuredClone(core.state),
  };
}

/**
 * Reads a snapshot back into a state and a clock offset. Returns a description of the
 * first problem instead when the value does not have the snapshot's shape.
 */
export function restoreSnapshot(value: unknown): { state: EmulatorState; clockOffsetSeconds: number } | { problem: string } {
  if (!isRecord(value)) return { problem: 'it is not a JSON object' };
  if (value['format_version'] !== SNAPSHOT_FORMAT_VERSION) {
    return { problem: `format_version is ${JSON.stringify(value['format_version'])}, expected ${SNAPSHOT_FORMAT_VERSION}` };
  }

  for (const field of ['next_account_id', 'next_method_id', 'clock_offset_seconds']) {
    if (typeof value[field] !== 'number' || !Number.isFinite(value[field])) return { problem: `${field} is not a number` };
  }
  for (const field of ['accounts', 'challenges', 'outbox']) {
    if (!Array.isArray(value[field])) return { problem: `${field} is not a list` };
  }
  if (!isRecord(value['sms_sends'])) return { problem: 'sms_sends is not an object' };

  const accounts = value['accounts'] as unknown[];
  for (const [index, account] of accounts.entries()) {
    const problem = checkAccount(account);
    if (problem !== undefined) return { problem: `accounts[${index}] ${problem}` };
  }

  const state: EmulatorState = {
    next_account_id: value['next_account_id'] as number,
    next_method_id: value['next_method_id'] as number,
    accounts: accounts as EmulatorState['accounts'],
    challenges: value['challenges'] as EmulatorState['challenges'],
    outbox: value['outbox'] as EmulatorState['outbox'],
    sms_sends: value['sms_sends'] as EmulatorState['sms_sends'],
  };
  return { state, clockOffsetSeconds: value['clock_offset_seconds'] as number };
}

/** Checks the fields that lookups and authentication rely on; deeper damage shows as 500s. */
function checkAccount(account: unknown): string | undefined {
  if (!isRecord(account)) return 'is not an object';
  if (typeof account['id'] !== 'number') return 'has no numeric id';
  if (typeof account['api_key'] !== 'string') return 'has no api_key';
  if (typeof account['email'] !== 'string') return 'has no email';
  for (const field of ['methods', 'removed_methods', 'backup_codes', 'issued_seeds']) {
    if (!Array.isArray(account[field])) return `has no ${field} list`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
