/**
 * The planner: a pure function from desired, observed and stored state to an account plan.
 * No I/O happens here, so every rule is tested as a table of cases.
 */

import type { LiveMethod, TfaStatus } from '../api/types.js';
import type { DesiredAccount, DesiredMethod, DesiredSmsMethod, DesiredTotpMethod } from '../manifest/types.js';
import type { AccountRecord, MethodRecord } from '../store/types.js';
import type { AccountPlan, Action, CreateAction, DriftItem, ReplaceAction, Verifier } from './types.js';
import { chooseVerifier, describeVerifier, isLocked, lastFour, unusedBackupCodes } from './verifier.js';

export interface PlanInput {
  desired: DesiredAccount;
  observed: TfaStatus;
  stored: AccountRecord;
  /** Epoch seconds, used for locks and rotation age. */
  nowSeconds: number;
  /** Labels of TOTP methods to rotate now (`apply --rotate ACCOUNT/LABEL`). */
  rotate?: ReadonlySet<string>;
}

const SECONDS_PER_DAY = 86_400;

/** Changes run in this order whatever order they were found in: add before remove. */
const ACTION_ORDER: Record<Action['kind'], number> = {
  adopt: 0,
  create: 1,
  replace: 2,
  repair: 3,
  rotate: 4,
  update: 5,
  'regenerate-backup-codes': 6,
  delete: 7,
};

function describeMethod(method: LiveMethod): string {
  const label = method.label === null ? 'with no label' : `"${method.label}"`;
  return `${method.method.toUpperCase()} method ${label} (#${method.id})`;
}

/** Finds the store's current record for a label: active first, then pending. */
function currentRecord(stored: AccountRecord, label: string): MethodRecord | undefined {
  const records = stored.methods.filter((r) => r.type === 'totp' && r.label === label && r.state !== 'retired');
  return records.find((r) => r.state === 'active') ?? records.find((r) => r.state === 'pending');
}

/**
 * Tells whether a label is the placeholder `tfa-gitops import` writes for a method that has no
 * label on the account: its type and id, e.g. "totp-12".
 */
function isPlaceholderFor(method: LiveMethod, label: string): boolean {
  return method.label === null && label === `${method.method}-${method.id}`;
}

interface Matching {
  actions: Action[];
  /** Live method ids that the manifest accounts for. */
  claimed: Set<number>;
}

function matchTotp(want: DesiredTotpMethod, input: PlanInput, matching: Matching): void {
  const { observed, stored, nowSeconds } = input;
  const record = currentRecord(stored, want.label);
  const free = (m: LiveMethod) => m.method === 'totp' && !matching.claimed.has(m.id);

  const byId = record?.methodId != null ? observed.methods.find((m) => m.id === record.methodId && free(m)) : undefined;
  if (byId && record) {
    matching.claimed.add(byId.id);

    // A rotation killed after the new method was confirmed leaves its seed pending beside the
    // old active one: adopt the new method, then remove the old one.
    const pending = stored.methods.find((r) => r.label === want.label && r.state === 'pending' && r.methodId === null);
    const confirmed = pending ? observed.methods.find((m) => free(m) && m.label === want.label) : undefined;
    if (confirmed) {
      matching.claimed.add(confirmed.id);
      matching.actions.push({
        kind: 'adopt',
        methodId: confirmed.id,
        type: 'totp',
        label: want.label,
        reason: `${describeMethod(confirmed)} was enrolled by an interrupted rotation and the store holds its seed`,
      });
      matching.actions.push({
        kind: 'delete',
        methodId: byId.id,
        type: 'totp',
        label: byId.label,
        reason: `${describeMethod(byId)} is the old seed of an interrupted rotation`,
        verifier: null,
      });
      compareMatched(want, confirmed, matching);
      return;
    }

    compareMatched(want, byId, matching);

    const ageDays = (nowSeconds - Date.parse(record.createdAt) / 1000) / SECONDS_PER_DAY;
    if (input.rotate?.has(want.label)) {
      matching.actions.push(replacement('rotate', want, byId, `rotation requested for "${want.label}"`));
    } else if (want.rotateAfterDays !== undefined && ageDays >= want.rotateAfterDays) {
      const reason = `seed is ${Math.floor(ageDays)} days old, rotateAfterDays is ${want.rotateAfterDays}`;
      matching.actions.push(replacement('rotate', want, byId, reason));
    }
    return;
  }

  const sameLabel = observed.methods.filter((m) => free(m) && (m.label === want.label || isPlaceholderFor(m, want.label)));
  const [first] = sameLabel;
  if (first && record && record.methodId === null) {
    matching.claimed.add(first.id);
    matching.actions.push({
      kind: 'adopt',
      methodId: first.id,
      type: 'totp',
      label: want.label,
      reason: `${describeMethod(first)} exists and the store holds its seed without an id`,
    });
    compareMatched(want, first, matching);
    return;
  }
  if (first) {
    matching.claimed.add(first.id);
    const reason = `the store holds no seed for ${describeMethod(first)}, so it cannot make codes`;
    matching.actions.push(replacement('repair', want, first, reason));
    return;
  }

  const reason =
    record?.methodId != null
      ? `method #${record.methodId} labelled "${want.label}" no longer exists`
      : `no TOTP method labelled "${want.label}"`;
  matching.actions.push({ kind: 'create', type: 'totp', label: want.label, primary: want.primary, reason });
}

function matchSms(want: DesiredSmsMethod, input: PlanInput, matching: Matching): void {
  const { observed } = input;
  const free = (m: LiveMethod) => m.method === 'sms' && !matching.claimed.has(m.id);
  const digits = lastFour(want.phone);

  const sameLabel = observed.methods.filter((m) => free(m) && (m.label === want.label || isPlaceholderFor(m, want.label)));
  const exact = sameLabel.find((m) => lastFour(m.phone_number ?? '') === digits);
  if (exact) {
    matching.claimed.add(exact.id);
    compareMatched(want, exact, matching);
    return;
  }

  const [changed] = sameLabel;
  if (changed) {
    matching.claimed.add(changed.id);
    const reason = `${describeMethod(changed)} has number ${changed.phone_number ?? 'unknown'}, the manifest ends in ${digits}`;
    matching.actions.push(replacement('replace', want, changed, reason));
    return;
  }

  const namedLabels = new Set(input.desired.methods.map((m) => m.label));
  const sameNumber = observed.methods.find(
    (m) => free(m) && lastFour(m.phone_number ?? '') === digits && (m.label === null || !namedLabels.has(m.label)),
  );
  if (sameNumber) {
    matching.claimed.add(sameNumber.id);
    compareMatched(want, sameNumber, matching);
    return;
  }

  const reason = `no SMS method labelled "${want.label}"`;
  matching.actions.push({ kind: 'create', type: 'sms', label: want.label, primary: want.primary, phone: want.phone, reason });
}

function replacement(kind: ReplaceAction['kind'], want: DesiredMethod, live: LiveMethod, reason: string): ReplaceAction {
  const action: ReplaceAction = {
    kind,
    methodId: live.id,
    type: want.type,
    label: want.label,
    primary: want.primary || live.is_primary,
    reason,
    verifier: null,
  };
  if (want.type === 'sms') action.phone = want.phone;
  return action;
}

function compareMatched(want: DesiredMethod, live: LiveMethod, matching: Matching): void {
  const changes: { label?: { from: string | null; to: string }; primary?: { from: boolean; to: boolean } } = {};
  const reasons: string[] = [];
  if (live.label !== want.label) {
    changes.label = { from: live.label, to: want.label };
    reasons.push(`label is ${live.label === null ? 'unset' : `"${live.label}"`}, the manifest says "${want.label}"`);
  }
  if (want.primary && !live.is_primary) {
    changes.primary = { from: false, to: true };
    reasons.push('the manifest marks it primary');
  }
  if (reasons.length === 0) return;
  matching.actions.push({
    kind: 'update',
    methodId: live.id,
    type: live.method,
    label: want.label,
    changes,
    reason: reasons.join('; '),
  });
}

function planRemovals(input: PlanInput, matching: Matching, drift: DriftItem[]): void {
  const { desired, observed, stored } = input;
  for (const live of observed.methods) {
    if (matching.claimed.has(live.id)) continue;

    // A retired seed belongs to a method a rotation replaced: removing it finishes the rotation,
    // whatever the `unmanaged` setting is.
    if (stored.methods.some((r) => r.state === 'retired' && r.methodId === live.id)) {
      matching.claimed.add(live.id);
      matching.actions.push({
        kind: 'delete',
        methodId: live.id,
        type: live.method,
        label: live.label,
        reason: `${describeMethod(live)} was replaced by a rotation and awaits removal`,
        verifier: null,
      });
      continue;
    }

    if (desired.unmanaged === 'delete') {
      matching.actions.push({
        kind: 'delete',
        methodId: live.id,
        type: live.method,
        label: live.label,
        reason: `${describeMethod(live)} is not in the manifest and unmanaged is "delete"`,
        verifier: null,
      });
    } else {
      drift.push({
        kind: 'unmanaged-method',
        methodId: live.id,
        label: live.label,
        message: `${describeMethod(live)} is not in the manifest (unmanaged: report leaves it)`,
      });
    }
  }
}

function planBackupCodes(input: PlanInput, actions: Action[]): void {
  const { desired, observed, stored } = input;
  if (!observed.tfa_enabled) return;

  const remaining = observed.backup_codes_remaining;
  const minimum = desired.backupCodes?.minRemaining;
  const known = unusedBackupCodes(stored);
  let reason: string | undefined;
  if (minimum !== undefined && remaining < minimum) {
    reason = `${remaining} backup codes left, fewer than ${minimum}`;
  } else if (known < remaining) {
    reason = `the account has ${remaining} unused backup codes but the store holds ${known}`;
  }
  if (reason !== undefined) actions.push({ kind: 'regenerate-backup-codes', reason, verifier: null });
}

function reportState(input: PlanInput, drift: DriftItem[]): void {
  const { observed, stored, nowSeconds, desired } = input;
  for (const live of observed.methods) {
    if (isLocked(live, nowSeconds)) {
      drift.push({
        kind: 'locked-method',
        methodId: live.id,
        label: live.label,
        message: `${describeMethod(live)} is locked until ${new Date((live.locked_until ?? 0) * 1000).toISOString()} after ${live.fail_count} failed codes`,
      });
    }
  }

  const liveIds = new Set(observed.methods.map((m) => m.id));
  const desiredLabels = new Set(desired.methods.map((m) => m.label));
  for (const record of stored.methods) {
    if (record.methodId === null || liveIds.has(record.methodId) || desiredLabels.has(record.label)) continue;
    if (record.state === 'retired') continue;
    drift.push({
      kind: 'orphan-record',
      methodId: record.methodId,
      label: record.label,
      message: `the store holds a seed for "${record.label}" (#${record.methodId}) but the account has no such method`,
    });
  }
}

/**
 * Reports seeds stored as pending whose method was never confirmed, e.g. after a rotation
 * killed before confirm-new. They stay in the store, and a later enrollment of the label
 * replaces them.
 */
function reportUnconfirmedSeeds(input: PlanInput, actions: readonly Action[], drift: DriftItem[]): void {
  for (const record of input.stored.methods) {
    if (record.state !== 'pending' || record.methodId !== null) continue;
    const handled = actions.some((a) => (a.kind === 'adopt' || a.kind === 'create') && a.label === record.label);
    if (handled) continue;
    drift.push({
      kind: 'orphan-record',
      label: record.label,
      message: `the store holds a seed for "${record.label}" that was stored as pending and never confirmed (created ${record.createdAt})`,
    });
  }
}

/**
 * Chooses a verifier for each step that needs one and records what blocks the plan:
 * no way to verify, or a removal that would leave the account without a usable method.
 */
function assignVerifiers(input: PlanInput, actions: Action[], blockers: string[]): Verifier | null {
  const { desired, observed, stored, nowSeconds } = input;
  const removed = new Set<number>();
  for (const action of actions) {
    if (action.kind === 'delete' || action.kind === 'rotate' || action.kind === 'repair' || action.kind === 'replace') {
      removed.add(action.methodId);
    }
  }

  let authorization: Verifier | null = null;
  const adds = actions.some((a) => a.kind === 'create' || a.kind === 'rotate' || a.kind === 'repair' || a.kind === 'replace');
  if (adds) {
    if (observed.methods.length === 0) {
      authorization = desired.emailCodes !== undefined ? { kind: 'email' } : null;
      if (authorization === null) {
        blockers.push('the account has no 2FA method, so adding one needs an emailed code: set emailCodes for the account');
      }
    } else {
      authorization = chooseVerifier({ desired, observed, stored, nowSeconds });
      if (authorization === null) {
        blockers.push('no method can authorize adding a method: no stored TOTP seed, SMS or email code provider, or backup code is usable');
      }
    }
  }

  // A step that removes methods is verified by a method that stays. A TOTP method that this
  // apply enrolls stays, so it can verify when no older method can.
  const newTotp = actions.find(
    (a): a is CreateAction | ReplaceAction => (a.kind === 'create' || a.kind === 'repair' || a.kind === 'rotate') && a.type === 'totp',
  );
  for (const action of actions) {
    if (action.kind !== 'delete' && action.kind !== 'rotate' && action.kind !== 'repair' && action.kind !== 'replace' && action.kind !== 'regenerate-backup-codes') continue;
    let verifier = chooseVerifier({ desired, observed, stored, nowSeconds, excluded: removed });
    if (verifier === null && newTotp !== undefined) {
      verifier = { kind: 'totp', methodId: null, label: newTotp.label };
    }
    action.verifier = verifier;
    if (verifier === null) {
      const what = action.kind === 'regenerate-backup-codes' ? 'regenerating backup codes' : `removing method #${action.methodId}`;
      blockers.push(`no method that stays can verify ${what}`);
    }
  }
  return authorization;
}

/** Tells whether the tool could make or receive a code for a live method. */
function canVerifyWith(method: LiveMethod, input: PlanInput): boolean {
  const everyOther = new Set(input.observed.methods.filter((m) => m.id !== method.id).map((m) => m.id));
  const verifier = chooseVerifier({
    ...input,
    desired: { ...input.desired, verifyWith: [method.method] },
    excluded: everyOther,
    nowSeconds: Number.NEGATIVE_INFINITY,
  });
  return verifier !== null;
}

/** Enforces the removal rules: never zero methods unless allowed, never strand unverifiable ones. */
function checkRemovals(input: PlanInput, actions: Action[], blockers: string[]): void {
  const { desired, observed } = input;
  const deletedIds = new Set(actions.flatMap((a) => (a.kind === 'delete' ? [a.methodId] : [])));
  if (deletedIds.size === 0) return;

  const created = actions.filter((a) => a.kind === 'create');
  const staying = observed.methods.filter((m) => !deletedIds.has(m.id));
  if (staying.length + created.length === 0 && !(desired.methods.length === 0 && desired.allowDisable)) {
    blockers.push(
      `removing ${deletedIds.size} method(s) would leave the account with no 2FA method; list a method in the manifest, or list none and set allowDisable: true`,
    );
    return;
  }

  // Locks are ignored here: a lock ends, a lost seed does not.
  const removesVerifiable = observed.methods.some((m) => deletedIds.has(m.id) && canVerifyWith(m, input));
  const adopted = new Set(actions.flatMap((a) => (a.kind === 'adopt' ? [a.methodId] : [])));
  const keepsVerifiable = staying.some((m) => adopted.has(m.id) || canVerifyWith(m, input)) || created.length > 0;
  if (removesVerifiable && !keepsVerifiable && staying.length > 0) {
    blockers.push(
      'the removals would delete the last method the tool can verify with while methods it cannot verify with remain; keep it, or repair the others first',
    );
  }
}

/**
 * Returns why the live account is not the one the store's record belongs to, when its methods
 * carry another user id: a manifest whose apiKey reaches the wrong account.
 */
export function identityMismatch(input: PlanInput): string | undefined {
  const { desired, observed, stored } = input;
  const expected = stored.userId;
  const live = observed.methods[0]?.user_id;
  if (expected !== undefined && live !== undefined && live !== expected) {
    return (
      `the API key reaches Vast user #${live}, but the store's record of "${desired.name}" belongs to user #${expected}: ` +
      "check the account's apiKey in the manifest"
    );
  }

  // An account with no method shows no user id. Active records then mean either a key for
  // another account or a 2FA reset outside the tool, and enrolling would be wrong for the first.
  const active = stored.methods.filter((r) => r.state === 'active' && r.methodId !== null);
  if (observed.methods.length === 0 && active.length > 0) {
    return (
      `the account has no 2FA method, but the store records ${active.length} active method(s) of "${desired.name}" ` +
      `(${active.map((r) => `#${r.methodId}`).join(', ')}): check the account's apiKey; if 2FA was reset on purpose, ` +
      `run "tfa-gitops store retire ${desired.name}" first`
    );
  }
  return undefined;
}

/** Plans one account. Pure: the same input always gives the same plan. */
export function planAccount(input: PlanInput): AccountPlan {
  // Nothing planned against another user's methods can be right, so that plan stops here. An
  // empty account may be this one after a reset, so its plan is shown, but blocked.
  const mismatch = identityMismatch(input);
  if (mismatch !== undefined && input.observed.methods.length > 0) {
    return { account: input.desired.name, actions: [], drift: [], authorization: null, blockers: [mismatch] };
  }

  const matching: Matching = { actions: [], claimed: new Set() };
  const drift: DriftItem[] = [];
  const blockers: string[] = [];

  for (const want of input.desired.methods) {
    if (want.type === 'totp') matchTotp(want, input, matching);
    else matchSms(want, input, matching);
  }
  planRemovals(input, matching, drift);

  const adds = matching.actions.some((a) => a.kind === 'create');
  const firstMethod = input.observed.methods.length === 0 && adds;
  if (!firstMethod) planBackupCodes(input, matching.actions);
  reportState(input, drift);
  reportUnconfirmedSeeds(input, matching.actions, drift);

  const actions = [...matching.actions].sort((a, b) => ACTION_ORDER[a.kind] - ACTION_ORDER[b.kind]);
  const authorization = assignVerifiers(input, actions, blockers);
  checkRemovals(input, actions, blockers);
  if (mismatch !== undefined) blockers.unshift(mismatch);

  return { account: input.desired.name, actions, drift, authorization, blockers };
}
