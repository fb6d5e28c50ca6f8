import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveMethod, TfaStatus } from '../src/api/types.js';
import type { DesiredAccount, DesiredMethod } from '../src/manifest/types.js';
import { detectDrift, FINDING_KINDS, type Finding, type FindingKind, summarizeDrift } from '../src/plan/drift.js';
import { planAccount } from '../src/plan/planner.js';
import type { AccountRecord, MethodRecord } from '../src/store/types.js';

const NOW = 1_800_000_000;
const DAY = 86_400;
const position = { file: 'tfa-gitops.yaml', line: 1, column: 1 };

function account(methods: DesiredMethod[], extra: Partial<DesiredAccount> = {}): DesiredAccount {
  return {
    name: 'ml-prod',
    methods,
    unmanaged: 'report',
    verifyWith: ['totp', 'sms', 'email', 'backupCode'],
    allowDisable: false,
    baseDir: '/tmp',
    position,
    emailCodes: { kind: 'env', name: 'EMAIL_CODE' },
    ...extra,
  };
}

const totp = (label: string, primary = false, extra: Partial<DesiredMethod> = {}): DesiredMethod =>
  ({ type: 'totp', label, primary, position, ...extra }) as DesiredMethod;

function live(id: number, method: 'totp' | 'sms', label: string | null, extra: Partial<LiveMethod> = {}): LiveMethod {
  return {
    id,
    user_id: 1,
    method,
    label,
    is_primary: false,
    fail_count: 0,
    locked_until: null,
    created_at: NOW - DAY,
    last_used: null,
    ...(method === 'sms' ? { phone_number: '******1234' } : {}),
    ...extra,
  };
}

function status(methods: LiveMethod[], backupCodes = methods.length > 0 ? 10 : 0): TfaStatus {
  return { tfa_enabled: methods.length > 0, methods, backup_codes_remaining: backupCodes, new_method_authorized: false };
}

function record(label: string, methodId: number | null, state: MethodRecord['state'] = 'active', createdAt = '2027-01-01T00:00:00Z'): MethodRecord {
  return { label, type: 'totp', seed: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', methodId, state, createdAt, updatedAt: createdAt };
}

function stored(methods: MethodRecord[], unusedCodes = 10): AccountRecord {
  return { methods, backupCodes: Array.from({ length: unusedCodes }, (_, i) => ({ code: `CODE-${i}`, used: false })) };
}

interface Case {
  name: string;
  desired: DesiredAccount;
  observed: TfaStatus;
  stored: AccountRecord;
  staleAfterDays?: number;
  /** Expected findings as `kind fix` pairs, in order. */
  expected: string[];
  /** A text every finding's reason must contain, when given. */
  reason?: RegExp;
}

const PRIMARY_BOT = live(7, 'totp', 'ci-bot', { is_primary: true });
const IN_SYNC = { desired: account([totp('ci-bot', true)]), observed: status([PRIMARY_BOT]), stored: stored([record('ci-bot', 7)]) };

const cases: Case[] = [
  { name: 'in sync', ...IN_SYNC, expected: [] },
  {
    name: 'missing method',
    ...IN_SYNC,
    desired: account([totp('ci-bot', true), totp('second')]),
    expected: ['missing-method create'],
    reason: /no TOTP method labelled "second"/,
  },
  {
    name: 'extra method reported',
    ...IN_SYNC,
    observed: status([PRIMARY_BOT, live(8, 'totp', 'extra')]),
    expected: ['extra-method null'],
    reason: /"extra" \(#8\) is not in the manifest/,
  },
  {
    name: 'extra method deleted',
    ...IN_SYNC,
    desired: account([totp('ci-bot', true)], { unmanaged: 'delete' }),
    observed: status([PRIMARY_BOT, live(8, 'totp', 'extra')]),
    expected: ['extra-method delete'],
  },
  {
    name: 'label renamed',
    ...IN_SYNC,
    observed: status([live(7, 'totp', 'renamed', { is_primary: true })]),
    expected: ['different-method update'],
    reason: /label is "renamed", the manifest says "ci-bot"/,
  },
  {
    name: 'primary lost',
    ...IN_SYNC,
    observed: status([live(7, 'totp', 'ci-bot')]),
    expected: ['different-method update'],
    reason: /primary/,
  },
  {
    name: 'locked method',
    ...IN_SYNC,
    observed: status([live(7, 'totp', 'ci-bot', { is_primary: true, fail_count: 5, locked_until: NOW + 600 })]),
    expected: ['locked-method null'],
    reason: /locked until/,
  },
  {
    name: 'backup codes below policy',
    ...IN_SYNC,
    desired: account([totp('ci-bot', true)], { backupCodes: { minRemaining: 8 } }),
    observed: status([PRIMARY_BOT], 7),
    stored: stored([record('ci-bot', 7)], 7),
    expected: ['backup-codes-below-policy regenerate-backup-codes'],
    reason: /7 backup codes left, fewer than 8/,
  },
  {
    name: 'backup codes not stored',
    ...IN_SYNC,
    stored: stored([record('ci-bot', 7)], 2),
    expected: ['backup-codes-not-stored regenerate-backup-codes'],
  },
  {
    name: 'store record without live method',
    ...IN_SYNC,
    stored: stored([record('ci-bot', 7), record('old-bot', 3)]),
    expected: ['orphan-record null'],
    reason: /"old-bot" \(#3\)/,
  },
  {
    name: 'seed lost from store',
    ...IN_SYNC,
    stored: stored([]),
    expected: ['seed-missing repair'],
    reason: /store holds no seed/,
  },
  {
    name: 'seed stored without id',
    ...IN_SYNC,
    stored: stored([record('ci-bot', null, 'pending')]),
    expected: ['record-without-id adopt'],
  },
  {
    name: 'rotation due',
    ...IN_SYNC,
    desired: account([totp('ci-bot', true, { rotateAfterDays: 30 } as Partial<DesiredMethod>)]),
    stored: stored([record('ci-bot', 7, 'active', new Date((NOW - 40 * DAY) * 1000).toISOString())]),
    expected: ['rotation-due rotate'],
    reason: /40 days old/,
  },
  {
    name: 'never used and old is stale',
    ...IN_SYNC,
    observed: status([live(7, 'totp', 'ci-bot', { is_primary: true, created_at: NOW - 100 * DAY })]),
    staleAfterDays: 90,
    expected: ['stale-method null'],
    reason: /never used and was added 100 days ago, more than the 90-day limit/,
  },
  {
    name: 'used long ago is stale',
    ...IN_SYNC,
    observed: status([live(7, 'totp', 'ci-bot', { is_primary: true, created_at: NOW - 400 * DAY, last_used: NOW - 95.5 * DAY })]),
    staleAfterDays: 90,
    expected: ['stale-method null'],
    reason: /last used 95 days ago/,
  },
  {
    name: 'used recently is not stale',
    ...IN_SYNC,
    observed: status([live(7, 'totp', 'ci-bot', { is_primary: true, created_at: NOW - 400 * DAY, last_used: NOW - 2 * DAY })]),
    staleAfterDays: 90,
    expected: [],
  },
  {
    name: 'no limit, no stale check',
    ...IN_SYNC,
    observed: status([live(7, 'totp', 'ci-bot', { is_primary: true, created_at: NOW - 1000 * DAY })]),
    expected: [],
  },
  {
    name: 'SMS number changed',
    desired: account([
      totp('ci-bot', true),
      { type: 'sms', label: 'oncall', phone: '+12125559999', primary: false, codes: { kind: 'env', name: 'SMS' }, position },
    ]),
    observed: status([PRIMARY_BOT, live(9, 'sms', 'oncall')]),
    stored: stored([record('ci-bot', 7)]),
    expected: ['different-method replace'],
    reason: /ends in 9999/,
  },
  {
    name: 'several differences at once',
    desired: account([totp('ci-bot', true), totp('second')], { backupCodes: { minRemaining: 5 } }),
    observed: status([live(7, 'totp', 'bot', { is_primary: true }), live(8, 'totp', 'extra')], 4),
    stored: stored([record('ci-bot', 7)], 4),
    expected: ['missing-method create', 'different-method update', 'backup-codes-below-policy regenerate-backup-codes', 'extra-method null'],
  },
];

function findingsFor(c: Case): Finding[] {
  const plan = planAccount({ desired: c.desired, observed: c.observed, stored: c.stored, nowSeconds: NOW });
  return detectDrift({
    desired: c.desired,
    observed: c.observed,
    plan,
    serverNowSeconds: NOW,
    ...(c.staleAfterDays !== undefined ? { staleAfterDays: c.staleAfterDays } : {}),
  });
}

for (const c of cases) {
  test(`drift: ${c.name}`, () => {
    const findings = findingsFor(c);
    assert.deepEqual(
      findings.map((f) => `${f.kind} ${f.fix}`),
      c.expected,
    );
    if (c.reason) for (const finding of findings) assert.match(finding.reason, c.reason);
  });
}

test('drift: every kind covered', () => {
  const covered = new Set(cases.flatMap((c) => c.expected.map((e) => e.split(' ')[0] as FindingKind)));
  // The planner has no rule yet that reports an unverifiable method; the next test passes one through.
  covered.add('unverifiable');
  for (const kind of FINDING_KINDS) assert.ok(covered.has(kind), `no case for ${kind}`);
});

test('drift: planner drift kinds pass through', () => {
  const plan = { account: 'a', actions: [], authorization: null, blockers: [], drift: [{ kind: 'unverifiable' as const, methodId: 4, label: 'x', message: 'cannot verify' }] };
  const findings = detectDrift({ desired: account([]), observed: status([]), plan, serverNowSeconds: NOW });
  assert.deepEqual(findings, [{ kind: 'unverifiable', methodId: 4, label: 'x', reason: 'cannot verify', fix: null }]);
});

test('drift: summary counts statuses', () => {
  const finding: Finding = { kind: 'extra-method', methodId: 1, label: 'x', reason: 'r', fix: null };
  const summary = summarizeDrift([
    { account: 'a', status: 'in-sync', findings: [], blockers: [], error: null },
    { account: 'b', status: 'drifted', findings: [finding, finding], blockers: [], error: null },
    { account: 'c', status: 'failed', findings: [], blockers: [], error: 'boom' },
  ]);
  assert.deepEqual(summary, { accounts: 3, inSync: 1, drifted: 1, failed: 1, findings: 2 });
});
