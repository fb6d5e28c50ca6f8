/**
 * Turns one validated manifest file into typed desired state, filling defaults and
 * resolving relative paths, and checks the rules the schema cannot express: unique labels,
 * at most one primary method and distinct phone numbers within an account.
 */
import { resolve } from 'node:path';

import type { ParsedManifestFile } from './document.js';
import { problemAt, type ManifestProblem } from './errors.js';
import { findNode, positionAt, startOffset } from './position.js';
import type {
  CodeProviderSpec,
  DesiredAccount,
  DesiredMethod,
  DesiredTotpMethod,
  SecretSource,
  SourcePosition,
  VerifierKind,
} from './types.js';

/** The shape of a manifest file that passed schema validation. */
interface ValidManifest {
  store?: string;
  accounts: ValidAccount[];
}

interface ValidAccount {
  name: string;
  apiKey?: SecretSource;
  emailCodes?: ValidCodeProvider;
  methods: ValidMethod[];
  backupCodes?: { minRemaining: number };
  unmanaged?: 'report' | 'delete';
  verifyWith?: VerifierKind[];
  allowDisable?: boolean;
}

interface ValidMethod {
  label: string;
  type: 'totp' | 'sms';
  primary?: boolean;
  rotateAfterDays?: number;
  phone?: string;
  codes?: ValidCodeProvider;
}

type ValidCodeProvider = 'prompt' | { prompt?: true; env?: string; command?: string; timeoutSeconds?: number };

export const DEFAULT_VERIFY_WITH: readonly VerifierKind[] = ['totp', 'sms', 'email', 'backupCode'];

/** Default time limit of a code provider command, in seconds. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 60;

/** The desired state of one file, before accounts from several files are merged. */
export interface FileDesiredState {
  /** The `store` value as written, when the file sets one. */
  store: string | undefined;
  accounts: DesiredAccount[];
  problems: ManifestProblem[];
}

/** Maps a file that passed schema validation into typed accounts; `baseDir` is its folder. */
export function buildDesiredState(file: ParsedManifestFile, baseDir: string): FileDesiredState {
  const manifest = file.data as unknown as ValidManifest;
  const problems: ManifestProblem[] = [];

  const accounts = manifest.accounts.map((account, index) => {
    const segments = ['accounts', String(index)];
    problems.push(...checkMethods(file, account, segments));
    return buildAccount(file, account, segments, baseDir);
  });

  return { store: manifest.store, accounts, problems };
}

function buildAccount(file: ParsedManifestFile, account: ValidAccount, segments: string[], baseDir: string): DesiredAccount {
  const methods = account.methods.map((method, index) =>
    buildMethod(method, positionOf(file, [...segments, 'methods', String(index)]), baseDir),
  );

  const desired: DesiredAccount = {
    name: account.name,
    methods,
    unmanaged: account.unmanaged ?? 'report',
    verifyWith: account.verifyWith ?? [...DEFAULT_VERIFY_WITH],
    allowDisable: account.allowDisable ?? false,
    baseDir,
    position: positionOf(file, segments),
  };
  if (account.apiKey !== undefined) desired.apiKey = buildSecretSource(account.apiKey, baseDir);
  if (account.emailCodes !== undefined) desired.emailCodes = buildCodeProvider(account.emailCodes);
  if (account.backupCodes !== undefined) desired.backupCodes = { minRemaining: account.backupCodes.minRemaining };
  return desired;
}

function buildMethod(method: ValidMethod, position: SourcePosition, baseDir: string): DesiredMethod {
  const primary = method.primary ?? false;

  if (method.type === 'totp') {
    const totp: DesiredTotpMethod = { type: 'totp', label: method.label, primary, position };
    if (method.rotateAfterDays !== undefined) totp.rotateAfterDays = method.rotateAfterDays;
    return totp;
  }

  // The schema requires phone and codes on sms methods.
  if (method.phone === undefined || method.codes === undefined) {
    throw new Error(`sms method "${method.label}" in ${baseDir} passed validation without phone or codes`);
  }
  return { type: 'sms', label: method.label, primary, phone: method.phone, codes: buildCodeProvider(method.codes), position };
}

function buildSecretSource(source: SecretSource, baseDir: string): SecretSource {
  if ('file' in source) return { file: resolve(baseDir, source.file) };
  if ('env' in source) return { env: source.env };
  return { store: source.store };
}

function buildCodeProvider(provider: ValidCodeProvider): CodeProviderSpec {
  if (provider === 'prompt' || provider.prompt === true) return { kind: 'prompt' };
  if (provider.env !== undefined) return { kind: 'env', name: provider.env };
  if (provider.command !== undefined) {
    return {
      kind: 'command',
      command: provider.command,
      timeoutSeconds: provider.timeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
    };
  }

  throw new Error('a code provider passed validation without prompt, env or command');
}

/** Reports repeated labels, several primary methods and one phone number on several sms methods. */
function checkMethods(file: ParsedManifestFile, account: ValidAccount, segments: string[]): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const firstByLabel = new Map<string, number>();
  const firstByPhone = new Map<string, number>();
  let firstPrimary: number | undefined;

  const lineOf = (index: number, key: string): number =>
    positionOf(file, [...segments, 'methods', String(index), key]).line;
  const problemOn = (index: number, key: string, message: string): ManifestProblem =>
    problemAt(file.source, offsetOf(file, [...segments, 'methods', String(index), key]), message);

  account.methods.forEach((method, index) => {
    const sameLabel = firstByLabel.get(method.label);
    if (sameLabel === undefined) {
      firstByLabel.set(method.label, index);
    } else {
      const message = `label "${method.label}" is used twice in account "${account.name}" ` +
        `(lines ${lineOf(sameLabel, 'label')} and ${lineOf(index, 'label')}); ` +
        'a label identifies its method, so give each method its own label';
      problems.push(problemOn(index, 'label', message));
    }

    if (method.primary === true) {
      if (firstPrimary === undefined) {
        firstPrimary = index;
      } else {
        const first = account.methods[firstPrimary];
        const message = `account "${account.name}" marks two methods primary: "${first?.label ?? ''}" ` +
          `(line ${lineOf(firstPrimary, 'primary')}) and "${method.label}" (line ${lineOf(index, 'primary')}); ` +
          'at most one method can be primary, so remove primary: true from one of them';
        problems.push(problemOn(index, 'primary', message));
      }
    }

    if (method.type === 'sms' && method.phone !== undefined) {
      const samePhone = firstByPhone.get(method.phone);
      if (samePhone === undefined) {
        firstByPhone.set(method.phone, index);
      } else {
        const message = `phone "${method.phone}" is used by two sms methods in account "${account.name}" ` +
          `(lines ${lineOf(samePhone, 'phone')} and ${lineOf(index, 'phone')}); ` +
          'Vast.ai rejects a second SMS method with the same number, so keep one of them';
        problems.push(problemOn(index, 'phone', message));
      }
    }
  });

  return problems;
}

function offsetOf(file: ParsedManifestFile, segments: readonly string[]): number {
  return startOffset(findNode(file.doc, segments));
}

function positionOf(file: ParsedManifestFile, segments: readonly string[]): SourcePosition {
  return positionAt(file.source, offsetOf(file, segments));
}
