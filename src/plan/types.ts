/** A plan is data: what will change on each account, why, and what will verify each step. */

import type { MethodType } from '../api/types.js';

/** The verifier of a step: one of the API's verification channels, or a stored backup code. */
export type Verifier =
  /** methodId null: the TOTP method this apply enrolls under that label. */
  | { kind: 'totp'; methodId: number | null; label: string }
  | { kind: 'sms'; methodId: number; label: string }
  | { kind: 'email' }
  | { kind: 'backupCode' };

export interface CreateAction {
  kind: 'create';
  type: MethodType;
  label: string;
  primary: boolean;
  /** SMS only: the E.164 number to enroll. */
  phone?: string;
  reason: string;
}

export interface UpdateAction {
  kind: 'update';
  methodId: number;
  type: MethodType;
  label: string;
  changes: {
    label?: { from: string | null; to: string };
    primary?: { from: boolean; to: boolean };
  };
  reason: string;
}

export interface DeleteAction {
  kind: 'delete';
  methodId: number;
  type: MethodType;
  label: string | null;
  reason: string;
  verifier: Verifier | null;
}

export interface AdoptAction {
  kind: 'adopt';
  methodId: number;
  type: MethodType;
  label: string;
  reason: string;
}

/** Enroll a replacement under the same label, then remove the old method. */
export interface ReplaceAction {
  kind: 'rotate' | 'repair' | 'replace';
  methodId: number;
  type: MethodType;
  label: string;
  primary: boolean;
  phone?: string;
  reason: string;
  verifier: Verifier | null;
}

export interface RegenerateAction {
  kind: 'regenerate-backup-codes';
  reason: string;
  verifier: Verifier | null;
}

export type Action = CreateAction | UpdateAction | DeleteAction | AdoptAction | ReplaceAction | RegenerateAction;
export type ActionKind = Action['kind'];

/** A difference the plan reports but will not change. */
export interface DriftItem {
  kind: 'unmanaged-method' | 'locked-method' | 'stale-method' | 'orphan-record' | 'unverifiable';
  methodId?: number;
  label?: string | null;
  message: string;
}

export interface AccountPlan {
  account: string;
  actions: Action[];
  drift: DriftItem[];
  /** The verifier that opens the add-method window, when the plan adds anything. */
  authorization: Verifier | null;
  /** Reasons the plan cannot be applied as it is (e.g. no way to verify); empty when it can. */
  blockers: string[];
}

export interface Plan {
  formatVersion: 1;
  accounts: AccountPlan[];
}

export function hasChanges(plan: AccountPlan): boolean {
  return plan.actions.length > 0;
}
