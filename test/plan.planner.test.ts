import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAccount, type PlanInput } from '../src/plan/planner.js';
import type { LiveMethod, TfaStatus } from '../src/api/types.js';
import type { DesiredAccount, DesiredMethod } from '../src/manifest/types.js';
import type { AccountRecord, MethodRecord } from '../src/store/types.js';

const NOW = 1_800_000_000;
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
const sms = (label: string, phone: string, primary = false): DesiredMethod => ({
  type: 'sms',
  label,
  phone,
  primary,
  codes: { kind: 'env', name: 'SMS_CODE' },
  position,
});

function live(id: number, method: 'totp' | 'sms', label: string | null, extra: Partial<LiveMethod> = {}): LiveMethod {
  return {
    id,
    user_id: 1,
    method,
    label,
    is_primary: false,
    fail_count: 0,
    locked_until: null,
    created_at: NOW - 1000,
    last_used: null,
    ...(method === 'sms' ? { phone_number: '******1234' } : {}),
    ...extra,
  };
}

function status(methods: LiveMethod[], backupCodes = methods.length > 0 ? 10 : 0): TfaStatus {
  return { tfa_enabled: methods.length > 0, methods, backup_codes_remaining: backupCodes, new_method_authorized: false };
}

function record(label: string, methodId: number | null, state: MethodRecord['state'] = 'active', createdAt = '2026-01-01T00:00:00Z'): MethodRecord {
  return { label, type: 'totp', seed: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', methodId, state, createdAt, updatedAt: createdAt };
}

function stored(methods: MethodRecord[], unusedCodes = 10): AccountRecord {
  return { methods, backupCodes: Array.from({ length: unusedCodes }, (_, i) => ({ code: `CODE-${i}`, used: false })) };
}

function plan(input: Partial<PlanInput> & Pick<PlanInput, 'desired'>) {
  return planAccount({ observed: status([]), stored: stored([], 0), nowSeconds: NOW, ...input });
}

const kinds = (p: ReturnType<typeof plan>) => p.actions.map((a) => a.kind);

const cases: Array<{ name: string; input: Partial<PlanInput> & Pick<PlanInput, 'desired'>; actions: string[]; drift?: string[]; blockers?: number }> = [
  {
    name: 'empty account gets a create',
    input: { desired: account([totp('ci-bot', true)]) },
    actions: ['create'],
  },
  {
    name: 'matched method gives no change',
    input: {
      desired: account([totp('ci-bot', true)]),
      observed: status([live(7, 'totp', 'ci-bot', { is_primary: true })]),
      stored: stored([record('ci-bot', 7)]),
    },
    actions: [],
  },
  {
    name: 'renamed method gets its label back',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([live(7, 'totp', 'renamed')]),
      stored: stored([record('ci-bot', 7)]),
    },
    actions: ['update'],
  },
  {
    name: 'primary flag is switched on',
    input: {
      desired: account([totp('ci-bot'), totp('backup', true)]),
      observed: status([live(7, 'totp', 'ci-bot', { is_primary: true }), live(8, 'totp', 'backup')]),
      stored: stored([record('ci-bot', 7), record('backup', 8)]),
    },
    actions: ['update'],
  },
  {
    name: 'unmanaged method reported by default',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([live(7, 'totp', 'ci-bot'), live(9, 'totp', 'stray')]),
      stored: stored([record('ci-bot', 7)]),
    },
    actions: [],
    drift: ['unmanaged-method'],
  },
  {
    name: 'unmanaged method deleted under delete',
    input: {
      desired: account([totp('ci-bot')], { unmanaged: 'delete' }),
      observed: status([live(7, 'totp', 'ci-bot'), live(9, 'totp', 'stray')]),
      stored: stored([record('ci-bot', 7)]),
    },
    actions: ['delete'],
  },
  {
    name: 'pending seed with live method is adopted',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([live(7, 'totp', 'ci-bot')]),
      stored: stored([record('ci-bot', null, 'pending')]),
    },
    actions: ['adopt'],
  },
  {
    name: 'pending seed without live method is created again',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([]),
      stored: stored([record('ci-bot', null, 'pending')], 0),
    },
    actions: ['create'],
  },
  {
    name: 'live method without seed is repaired',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([live(7, 'totp', 'ci-bot')]),
      stored: stored([], 10),
    },
    actions: ['repair'],
  },
  {
    name: 'method removed on the server is created again',
    input: {
      desired: account([totp('ci-bot'), totp('other')]),
      observed: status([live(8, 'totp', 'other')]),
      stored: stored([record('ci-bot', 7), record('other', 8)]),
    },
    actions: ['create'],
  },
  {
    name: 'create comes before delete',
    input: {
      desired: account([totp('new-bot')], { unmanaged: 'delete' }),
      observed: status([live(7, 'totp', 'old-bot')]),
      stored: stored([record('old-bot', 7)]),
    },
    actions: ['create', 'delete'],
  },
  {
    name: 'backup codes below minimum regenerated',
    input: {
      desired: account([totp('ci-bot')], { backupCodes: { minRemaining: 3 } }),
      observed: status([live(7, 'totp', 'ci-bot')], 2),
      stored: stored([record('ci-bot', 7)], 2),
    },
    actions: ['regenerate-backup-codes'],
  },
  {
    name: 'lost backup codes regenerated',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([live(7, 'totp', 'ci-bot')], 10),
      stored: stored([record('ci-bot', 7)], 0),
    },
    actions: ['regenerate-backup-codes'],
  },
  {
    name: 'rotation requested by flag',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([live(7, 'totp', 'ci-bot')]),
      stored: stored([record('ci-bot', 7)]),
      rotate: new Set(['ci-bot']),
    },
    actions: ['rotate'],
  },
  {
    name: 'rotation due by age',
    input: {
      desired: account([totp('ci-bot', false, { rotateAfterDays: 30 } as Partial<DesiredMethod>)]),
      observed: status([live(7, 'totp', 'ci-bot')]),
      stored: stored([record('ci-bot', 7, 'active', new Date((NOW - 40 * 86_400) * 1000).toISOString())]),
    },
    actions: ['rotate'],
  },
  {
    name: 'sms method matched by label and number',
    input: {
      desired: account([sms('oncall', '+12125551234')]),
      observed: status([live(5, 'sms', 'oncall')]),
      stored: stored([], 10),
    },
    actions: [],
  },
  {
    name: 'sms number change replaces method',
    input: {
      desired: account([sms('oncall', '+12125559999')]),
      observed: status([live(5, 'sms', 'oncall')]),
      stored: stored([], 10),
    },
    actions: ['replace'],
  },
  {
    name: 'locked method listed as drift',
    input: {
      desired: account([totp('ci-bot')]),
      observed: status([live(7, 'totp', 'ci-bot', { fail_count: 5, locked_until: NOW + 600 })]),
      stored: stored([record('ci-bot', 7)]),
    },
    actions: [],
    drift: ['locked-method'],
  },
  {
    name: 'first method without email codes is blocked',
    input: { desired: account([totp('ci-bot')], { emailCodes: undefined }) },
    actions: ['create'],
    blockers: 1,
  },
  {
    name: 'deleting the only method is blocked',
    input: {
      desired: account([], { unmanaged: 'delete' }),
      observed: status([live(7, 'totp', 'ci-bot')]),
      stored: stored([record('ci-bot', 7)]),
    },
    actions: ['delete'],
    blockers: 1,
  },
  {
    name: 'disabling allowed with allowDisable',
    input: {
      desired: account([], { unmanaged: 'delete', allowDisable: true }),
      observed: status([live(7, 'totp', 'ci-bot')]),
      stored: stored([record('ci-bot', 7)]),
    },
    actions: ['delete'],
    blockers: 0,
  },
  {
    name: 'last verifiable method kept over unverifiable',
    input: {
      desired: account([sms('oncall', '+12125551234')], { unmanaged: 'delete', emailCodes: undefined }),
      observed: status([live(7, 'totp', 'known'), live(5, 'sms', 'renamed')], 0),
      stored: stored([record('known', 7)], 0),
    },
    actions: ['update', 'delete'],
    blockers: 2,
  },
];

for (const { name, input, actions, drift, blockers } of cases) {
  test(`planner: ${name}`, () => {
    const result = plan(input);
    assert.deepEqual(kinds(result), actions);
    if (drift) assert.deepEqual(result.drift.map((d) => d.kind), drift);
    if (blockers !== undefined) assert.equal(result.blockers.length, blockers, result.blockers.join('\n'));
    else assert.deepEqual(result.blockers, []);
    for (const action of result.actions) assert.ok(action.reason.length > 0, `${action.kind} has a reason`);
  });
}

test('planner: first method authorized by email', () => {
  const result = plan({ desired: account([totp('ci-bot')]) });
  assert.deepEqual(result.authorization, { kind: 'email' });
});

test('planner: second method authorized by stored seed', () => {
  const result = plan({
    desired: account([totp('ci-bot'), totp('second')]),
    observed: status([live(7, 'totp', 'ci-bot')]),
    stored: stored([record('ci-bot', 7)]),
  });
  assert.deepEqual(result.authorization, { kind: 'totp', methodId: 7, label: 'ci-bot' });
});

test('planner: delete verified by a method that stays', () => {
  const result = plan({
    desired: account([totp('ci-bot')], { unmanaged: 'delete' }),
    observed: status([live(7, 'totp', 'ci-bot'), live(9, 'totp', 'stray')]),
    stored: stored([record('ci-bot', 7), record('stray', 9)]),
  });
  const [action] = result.actions;
  assert.equal(action?.kind, 'delete');
  assert.deepEqual(action?.kind === 'delete' ? action.verifier : null, { kind: 'totp', methodId: 7, label: 'ci-bot' });
});

test('planner: locked TOTP skipped for email', () => {
  const result = plan({
    desired: account([totp('ci-bot'), totp('second')]),
    observed: status([live(7, 'totp', 'ci-bot', { locked_until: NOW + 60, fail_count: 5 })]),
    stored: stored([record('ci-bot', 7)]),
  });
  assert.deepEqual(result.authorization, { kind: 'email' });
});

test('planner: verifyWith order is honoured', () => {
  const result = plan({
    desired: account([totp('ci-bot'), totp('second')], { verifyWith: ['backupCode', 'totp'] }),
    observed: status([live(7, 'totp', 'ci-bot')]),
    stored: stored([record('ci-bot', 7)]),
  });
  assert.deepEqual(result.authorization, { kind: 'backupCode' });
});

test('planner: same input gives same plan', () => {
  const input = {
    desired: account([totp('a', true), totp('b')], { unmanaged: 'delete' as const }),
    observed: status([live(3, 'totp', 'x'), live(4, 'totp', 'a')]),
    stored: stored([record('a', 4)]),
  };
  assert.deepEqual(plan(input), plan(input));
});

test('planner: interrupted rotation adopted then finished', () => {
  const result = plan({
    desired: account([totp('ci-bot')]),
    observed: status([live(7, 'totp', 'ci-bot'), live(8, 'totp', 'ci-bot')]),
    stored: stored([record('ci-bot', 7), record('ci-bot', null, 'pending')]),
  });
  assert.deepEqual(
    result.actions.map((a) => [a.kind, 'methodId' in a ? a.methodId : null]),
    [
      ['adopt', 8],
      ['delete', 7],
    ],
  );
  assert.deepEqual(result.blockers, []);
});

test('planner: retired method removed under report', () => {
  const result = plan({
    desired: account([totp('ci-bot')]),
    observed: status([live(7, 'totp', 'ci-bot'), live(8, 'totp', 'ci-bot')]),
    stored: stored([record('ci-bot', 7, 'retired'), record('ci-bot', 8)]),
  });
  assert.deepEqual(result.actions.map((a) => a.kind), ['delete']);
  const [removal] = result.actions;
  assert.equal(removal?.kind === 'delete' ? removal.methodId : null, 7);
  assert.deepEqual(result.drift, []);
});

test('planner: import placeholder label matches', () => {
  const result = plan({
    desired: account([totp('totp-7'), sms('sms-9', '+12125551234')]),
    observed: status([live(7, 'totp', null), live(9, 'sms', null)]),
    stored: stored([], 10),
  });
  assert.deepEqual(result.actions.map((a) => [a.kind, 'methodId' in a ? a.methodId : null]), [
    ['repair', 7],
    ['update', 9],
  ]);
  assert.deepEqual(result.drift, []);
});

test('planner: unconfirmed pending seed reported', () => {
  const result = plan({
    desired: account([totp('ci-bot')]),
    observed: status([live(7, 'totp', 'ci-bot')]),
    stored: stored([record('ci-bot', 7), record('ci-bot', null, 'pending')]),
  });
  assert.deepEqual(result.actions, []);
  assert.deepEqual(result.drift.map((d) => d.kind), ['orphan-record']);
  assert.match(result.drift[0]?.message ?? '', /stored as pending and never confirmed/);
});
