/**
 * A secret store behind an external helper command, in the style of git credential helpers.
 * `exec://COMMAND` runs `COMMAND get|store|erase|list` with one JSON request on standard input
 * and reads one JSON response from standard output. Protocol version 1:
 *
 * - get   `{"protocol":1,"operation":"get","account":A}`
 *         -> `{"version":N,"record":{...}}`, or `{"version":0,"record":null}` when A has none
 * - store `{"protocol":1,"operation":"store","account":A,"record":{...},"expectedVersion":E}`
 *         -> `{"version":N}` with N > E, or `{"conflict":true,"version":CURRENT}` when E is stale
 * - erase `{"protocol":1,"operation":"erase","account":A,"expectedVersion":E}`
 *         -> `{"erased":true}`, or the same conflict response
 * - list  `{"protocol":1,"operation":"list"}` -> `{"accounts":[A, ...]}`
 *
 * The helper keeps the version and does the check-and-set itself; a non-zero exit status is a
 * failure, described on standard error.
 */

import { StoreConflictError, StoreError } from './errors.js';
import { runHelper, type HelperInvocation } from './exec-run.js';
import { isObject, recordProblem } from './record-shape.js';
import { emptyRecord, type AccountRecord, type SecretStore, type VersionedRecord } from './types.js';

export const EXEC_PROTOCOL_VERSION = 1;

/** Seconds a helper may run for one operation, unless TFA_GITOPS_STORE_TIMEOUT sets another number. */
export const DEFAULT_HELPER_TIMEOUT_SECONDS = 30;

export interface ExecStoreOptions {
  /** The command as written after exec://. */
  command: string;
  /** The folder the helper runs in: the manifest's folder. */
  cwd: string;
  /** The helper's environment. */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

export class ExecStore implements SecretStore {
  readonly location: string;
  readonly writable = true;
  readonly #options: ExecStoreOptions;

  constructor(options: ExecStoreOptions) {
    this.#options = options;
    this.location = `exec://${options.command}`;
  }

  async read(account: string): Promise<VersionedRecord> {
    checkAccount(account, this.location);
    const response = await this.#run('get', { account });

    const version = responseVersion(response, this.#describe('get'));
    const record = response['record'];
    if (version === 0) {
      if (record !== null && record !== undefined) throw this.#invalid('get', 'it has a record at version 0');
      return { record: emptyRecord(), version: 0 };
    }

    const problem = recordProblem(record);
    if (problem !== undefined) throw this.#invalid('get', problem);
    return { record: record as AccountRecord, version };
  }

  async write(account: string, record: AccountRecord, expectedVersion: number): Promise<number> {
    checkAccount(account, this.location);
    checkExpectedVersion(account, expectedVersion, this.location);
    const response = await this.#run('store', { account, record, expectedVersion });

    const version = responseVersion(response, this.#describe('store'));
    if (response['conflict'] === true) throw new StoreConflictError(this.location, account, expectedVersion, version);
    if (version <= expectedVersion) {
      throw this.#invalid('store', `its new version ${version} is not above the expected version ${expectedVersion}`);
    }
    return version;
  }

  /** Removes an account's record if it is still at `expectedVersion`. No command of the CLI erases records yet. */
  async erase(account: string, expectedVersion: number): Promise<void> {
    checkAccount(account, this.location);
    checkExpectedVersion(account, expectedVersion, this.location);
    const response = await this.#run('erase', { account, expectedVersion });

    if (response['conflict'] === true) {
      throw new StoreConflictError(this.location, account, expectedVersion, responseVersion(response, this.#describe('erase')));
    }
    if (response['erased'] !== true) throw this.#invalid('erase', 'it has neither "erased": true nor "conflict": true');
  }

  async list(): Promise<string[]> {
    const response = await this.#run('list', {});
    const accounts = response['accounts'];
    if (!Array.isArray(accounts) || !accounts.every((name) => typeof name === 'string' && name !== '')) {
      throw this.#invalid('list', 'it has no "accounts" array of names');
    }
    return [...new Set(accounts as string[])].sort();
  }

  async close(): Promise<void> {
    // Each operation runs its own helper process, so nothing stays open.
  }

  async #run(operation: HelperInvocation['operation'], fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await runHelper({
      command: this.#options.command,
      operation,
      request: { protocol: EXEC_PROTOCOL_VERSION, operation, ...fields },
      cwd: this.#options.cwd,
      env: this.#options.env,
      timeoutMs: this.#options.timeoutMs,
    });
    if (!isObject(response)) throw this.#invalid(operation, 'it is not a JSON object');
    return response;
  }

  #describe(operation: string): string {
    return `The store helper "${this.#options.command}" (operation ${operation})`;
  }

  #invalid(operation: string, reason: string): StoreError {
    return new StoreError('store_helper_invalid', `${this.#describe(operation)} returned an invalid response: ${reason}.`, {
      hint: 'Compare the helper with the protocol in the README, section "Secret stores".',
    });
  }
}

export interface OpenExecStoreOptions {
  env: NodeJS.ProcessEnv;
  /** The folder the helper runs in. */
  cwd: string;
}

/** Opens `exec://COMMAND` and runs `COMMAND list` once, so that a broken helper fails before any work starts. */
export async function openExecStore(url: string, options: OpenExecStoreOptions): Promise<ExecStore> {
  const command = url.replace(/^exec:\/\//i, '').trim();
  if (command === '') {
    throw new StoreError('store_url_invalid', `Invalid store URL "${url}": exec:// needs a command, as in exec://./store-helper.sh.`, {
      hint: 'Write the command after exec://; it runs with /bin/sh in the manifest folder.',
    });
  }

  const store = new ExecStore({ command, cwd: options.cwd, env: options.env, timeoutMs: helperTimeoutMs(options.env) });
  await store.list();
  return store;
}

function helperTimeoutMs(env: NodeJS.ProcessEnv): number {
  const value = env['TFA_GITOPS_STORE_TIMEOUT'];
  if (value === undefined || value === '') return DEFAULT_HELPER_TIMEOUT_SECONDS * 1000;

  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new StoreError('store_timeout_invalid', `Invalid TFA_GITOPS_STORE_TIMEOUT "${value}": write a number of seconds above 0.`, {
      hint: `Unset it to use the default of ${DEFAULT_HELPER_TIMEOUT_SECONDS} s.`,
    });
  }
  return seconds * 1000;
}

function responseVersion(response: Record<string, unknown>, helper: string): number {
  const version = response['version'];
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
    throw new StoreError('store_helper_invalid', `${helper} returned an invalid response: it has no "version" integer of at least 0.`, {
      hint: 'Compare the helper with the protocol in the README, section "Secret stores".',
    });
  }
  return version;
}

function checkAccount(account: string, location: string): void {
  if (account === '') throw new StoreError('store_invalid_account', `Cannot use an empty account name in ${location}.`);
}

function checkExpectedVersion(account: string, expectedVersion: number, location: string): void {
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new StoreError('store_invalid_version', `Cannot write account "${account}" to ${location}: expected version ${expectedVersion} is not an integer of at least 0.`);
  }
}
