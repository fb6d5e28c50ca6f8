/**
 * Saved plans (`plan --out FILE`, `apply FILE`): the plan as JSON plus, per account, what it
 * was made from, so that apply can refuse a plan whose account, store record or manifest
 * entry has changed since. The file contains no secret, only method ids, labels, reasons,
 * hashes and version numbers. A plan file applies once: apply marks it before it changes anything.
 */

import { randomUUID } from 'node:crypto';
import { chmod, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { TfaStatus } from '../api/types.js';
import { TfaError } from '../errors.js';
import type { DesiredAccount, DesiredMethod } from '../manifest/types.js';
import type { AccountPlan } from '../plan/types.js';
import { sha256Canonical, sortKeys } from './canonical.js';
import type { PlanDocument } from './render/json.js';

/** The state one account's plan was made from. */
export interface PlanBasis {
  /** SHA-256 of the live status, see statusFingerprint. */
  statusSha256: string;
  /** The store record's version; 0 when the store had no record for the account. */
  storeVersion: number;
  /** SHA-256 of the account's manifest entry, see desiredFingerprint. */
  desiredSha256: string;
  /** Labels of TOTP methods the plan rotates (`plan --rotate`), so apply re-plans the same way. */
  rotate: string[];
}

export interface SavedPlanInfo {
  planId: string;
  /** ISO 8601. */
  createdAt: string;
  /** The manifest paths, relative to the folder plan ran in, that apply reads unless -f is given. */
  manifestFiles: string[];
  accounts: Record<string, PlanBasis>;
  /** Set when an apply of this file started; a second apply is refused. */
  applied: { startedAt: string; finishedAt: string | null } | null;
}

export interface SavedPlan {
  path: string;
  document: PlanDocument & { saved: SavedPlanInfo };
}

export class PlanFileError extends TfaError {}

/**
 * Hashes the live status with sorted keys and methods in id order. Two fields change without
 * any change of the account's methods, so they are left out: `last_used` changes at every
 * verification, and `new_method_authorized` turns false by itself 30 minutes after an
 * authorization. Lock fields (`fail_count`, `locked_until`) stay in, because wrong codes
 * between plan and apply are worth a fresh plan.
 */
export function statusFingerprint(status: TfaStatus): string {
  const methods = [...status.methods]
    .sort((a, b) => a.id - b.id)
    .map(({ last_used: _lastUsed, ...method }) => method);
  return sha256Canonical({ tfa_enabled: status.tfa_enabled, backup_codes_remaining: status.backup_codes_remaining, methods });
}

function methodEssentials(method: DesiredMethod): Record<string, unknown> {
  if (method.type === 'totp') {
    return { type: method.type, label: method.label, primary: method.primary, rotateAfterDays: method.rotateAfterDays ?? null };
  }
  return { type: method.type, label: method.label, primary: method.primary, phone: method.phone };
}

/**
 * Hashes the account's methods and rules as the manifest sets them. Source positions, the
 * folder, the API key source and the code-provider commands are left out, because they
 * differ between checkouts or do not change what apply does.
 */
export function desiredFingerprint(desired: DesiredAccount): string {
  return sha256Canonical({
    name: desired.name,
    methods: desired.methods.map(methodEssentials),
    backupCodes: desired.backupCodes ?? null,
    unmanaged: desired.unmanaged,
    verifyWith: desired.verifyWith,
    allowDisable: desired.allowDisable,
    emailCodes: desired.emailCodes !== undefined,
  });
}

/** Returns what differs between a plan's basis and the account now; empty when nothing does. */
export function compareBasis(basis: PlanBasis, now: { status: TfaStatus; storeVersion: number; desired: DesiredAccount }): string[] {
  const changes: string[] = [];
  if (desiredFingerprint(now.desired) !== basis.desiredSha256) changes.push('its manifest entry changed');
  if (statusFingerprint(now.status) !== basis.statusSha256) changes.push('its live 2FA status changed');
  if (now.storeVersion !== basis.storeVersion) {
    changes.push(`its store record changed (version ${basis.storeVersion} when planned, ${now.storeVersion} now)`);
  }
  return changes;
}

/** Serializes a saved plan as canonical JSON. */
export function savedPlanText(document: PlanDocument): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}

/**
 * Writes the file readable by its owner alone (mode 0600), through a temporary file and a
 * rename, so a reader never sees half a plan.
 */
export async function writePlanFile(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new PlanFileError('plan_file_unwritable', `cannot write the plan file ${path} (${reason})`, {
      hint: 'pass --out a path in a folder you can write to',
      cause: error,
    });
  }
}

function invalid(path: string, why: string): PlanFileError {
  return new PlanFileError('plan_file_invalid', `${path} is not a plan file that tfa-gitops can apply: ${why}`, {
    hint: 'make one with "tfa-gitops plan --out FILE", then run "tfa-gitops apply FILE"',
  });
}

function isPlanBasis(value: unknown): value is PlanBasis {
  const basis = value as Partial<PlanBasis> | null;
  return (
    typeof basis === 'object' &&
    basis !== null &&
    typeof basis.statusSha256 === 'string' &&
    typeof basis.storeVersion === 'number' &&
    typeof basis.desiredSha256 === 'string' &&
    Array.isArray(basis.rotate)
  );
}

/** Reads a plan file written by `plan --out`; throws PlanFileError naming the path and the fix. */
export async function readPlanFile(path: string): Promise<SavedPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PlanFileError('plan_file_unreadable', `cannot read the plan file ${path} (${code ?? (error as Error).message})`, {
      hint: 'pass the path that "tfa-gitops plan --out" wrote',
      cause: error,
    });
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(path, 'it is not JSON');
  }
  const document = parsed as Partial<PlanDocument> | null;
  if (typeof document !== 'object' || document === null || document.kind !== 'plan') throw invalid(path, 'it is not a plan');
  if (document.formatVersion !== 1) throw invalid(path, `formatVersion ${String(document.formatVersion)} is not 1`);
  const saved = document.saved;
  if (saved === undefined || typeof saved !== 'object' || saved === null) throw invalid(path, 'it was printed, not saved with --out');
  if (!Array.isArray(document.accounts) || !Array.isArray(document.failed)) throw invalid(path, 'it has no accounts list');
  for (const plan of document.accounts as AccountPlan[]) {
    if (typeof plan?.account !== 'string' || !Array.isArray(plan.actions) || !isPlanBasis(saved.accounts?.[plan.account])) {
      throw invalid(path, `the entry of account ${JSON.stringify(plan?.account)} is incomplete`);
    }
  }
  if (!Array.isArray(saved.manifestFiles) || typeof saved.planId !== 'string') throw invalid(path, 'it names no manifest');
  return { path, document: document as PlanDocument & { saved: SavedPlanInfo } };
}
