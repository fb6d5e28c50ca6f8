/** The inputs the executor needs to apply one account's plan. */

import type { VastClient } from '../api/client.js';
import type { TfaStatus } from '../api/types.js';
import type { DesiredAccount } from '../manifest/types.js';
import type { SecretStore } from '../store/types.js';
import type { TotpCodeSource } from '../totp/index.js';
import type { Verifier } from '../plan/types.js';
import type { CodeProvider } from './code-provider.js';
import type { Journal } from './journal.js';

/** Progress the executor reports; the CLI turns these into log lines. Never carries a secret. */
export type ApplyEvent =
  | { type: 'step'; account: string; message: string }
  | { type: 'warning'; account: string; message: string };

export interface ApplyOptions {
  store: SecretStore;
  codes: TotpCodeSource;
  /** Makes a code provider for a manifest spec; the CLI supplies the terminal prompt. */
  providerFor: (account: DesiredAccount, channel: 'email' | 'sms', label?: string) => CodeProvider | undefined;
  signal?: AbortSignal;
  onEvent?: (event: ApplyEvent) => void;
  /** Epoch milliseconds; tests may move it. */
  now?: () => number;
}

/** One account's apply in progress. */
export interface AccountRun {
  desired: DesiredAccount;
  client: VastClient;
  journal: Journal;
  options: ApplyOptions;
  /** The latest status read. */
  observed: TfaStatus;
  /** True once the add-method window is open in this run. */
  authorized: boolean;
  /** Failed verification attempts in this run, per verifier key (`totp:42`, `email`, ...). */
  failures: Map<string, number>;
  /** Set when the confirm-new response of a first method, and so its backup codes, never arrived. */
  lostBackupCodes: boolean;
  /** Backup codes this run spent as verifiers. */
  spentBackupCodes: number;
}

export function verifierKey(verifier: Verifier): string {
  if (verifier.kind === 'totp' || verifier.kind === 'sms') return `${verifier.kind}:${verifier.methodId ?? 'new'}`;
  return verifier.kind;
}

export function emit(run: AccountRun, message: string, type: ApplyEvent['type'] = 'step'): void {
  run.options.onEvent?.({ type, account: run.desired.name, message });
}

export function nowSeconds(run: AccountRun): number {
  return (run.options.now?.() ?? Date.now()) / 1000;
}
