/**
 * A read-only secret store in environment variables, for CI secret variables.
 * `env://PREFIX` reads account ACCOUNT from `PREFIX_<ACCOUNT>_RECORD`, where <ACCOUNT> is the
 * name upper-cased with every character other than A-Z and 0-9 replaced by "_" (ml-prod:
 * TFA_ML_PROD_RECORD). The value is the account's record as JSON, the object that `age -d`
 * shows under accounts.ACCOUNT.record, either as is or base64-encoded for CI systems that
 * mask only base64 values.
 */

import { StoreError, StoreReadOnlyError } from './errors.js';
import { recordProblem } from './record-shape.js';
import { emptyRecord, type AccountRecord, type SecretStore, type VersionedRecord } from './types.js';

const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SUFFIX = '_RECORD';

export class EnvStore implements SecretStore {
  readonly location: string;
  readonly writable = false;
  readonly #prefix: string;
  /** A copy of the variables taken at open, so every read returns the same values. */
  readonly #variables: ReadonlyMap<string, string>;

  constructor(prefix: string, env: NodeJS.ProcessEnv) {
    this.#prefix = prefix;
    this.location = `env://${prefix}`;
    const start = `${prefix}_`;
    this.#variables = new Map(
      Object.entries(env).filter((entry): entry is [string, string] => entry[0].startsWith(start) && entry[0].endsWith(SUFFIX) && typeof entry[1] === 'string'),
    );
  }

  /** Returns the name of the variable that contains `account`'s record. */
  variableFor(account: string): string {
    return `${this.#prefix}_${account.toUpperCase().replace(/[^A-Z0-9]/g, '_')}${SUFFIX}`;
  }

  async read(account: string): Promise<VersionedRecord> {
    const variable = this.variableFor(account);
    const value = this.#variables.get(variable);
    if (value === undefined || value.trim() === '') return { record: emptyRecord(), version: 0 };

    // Every set variable reads as version 1: the record never changes while the tool runs.
    return { record: parseRecord(value, variable), version: 1 };
  }

  async write(account: string): Promise<number> {
    throw new StoreReadOnlyError(this.location, account, `its record would go to the environment variable ${this.variableFor(account)}`);
  }

  /**
   * Returns the accounts that have a variable, lower-cased. NOTE: a variable name cannot tell
   * "-", "." and "_" apart, so an account named ml-prod is listed as ml_prod.
   */
  async list(): Promise<string[]> {
    const start = this.#prefix.length + 1;
    return [...this.#variables]
      .filter(([, value]) => value.trim() !== '')
      .map(([name]) => name.slice(start, name.length - SUFFIX.length).toLowerCase())
      .filter((name) => name !== '')
      .sort();
  }

  async close(): Promise<void> {
    // Nothing is open.
  }
}

/** Opens `env://PREFIX` over the variables in `env`. */
export function openEnvStore(url: string, env: NodeJS.ProcessEnv): EnvStore {
  const prefix = url.replace(/^env:\/\//i, '');
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new StoreError('store_url_invalid', `Invalid store URL "${url}": env:// needs a variable name prefix of letters, digits and "_", as in env://TFA_GITOPS_CI.`, {
      hint: 'Each account is read from PREFIX_<ACCOUNT>_RECORD.',
    });
  }
  return new EnvStore(prefix, env);
}

/** Parses the variable's JSON, or base64 of it. Errors name the variable, never its value. */
function parseRecord(value: string, variable: string): AccountRecord {
  const trimmed = value.trim();
  const text = trimmed.startsWith('{') ? trimmed : Buffer.from(trimmed, 'base64').toString('utf8');

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidVariable(variable, 'it is neither JSON nor base64-encoded JSON');
  }

  const problem = recordProblem(parsed);
  if (problem !== undefined) throw invalidVariable(variable, problem);
  return parsed as AccountRecord;
}

function invalidVariable(variable: string, reason: string): StoreError {
  return new StoreError('store_invalid', `The environment variable ${variable} does not hold a tfa-gitops record: ${reason}.`, {
    hint: `Set it to the account's record as JSON, e.g. from: age -d -i IDENTITY STORE | jq -c '.accounts["ACCOUNT"].record'.`,
  });
}
