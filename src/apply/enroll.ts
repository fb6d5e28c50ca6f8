/**
 * Enrollment of a new method. For TOTP the seed reaches the store as `pending` before
 * confirm-new is sent, and backup codes from the response are stored before anything else
 * happens, so a run killed at any point leaves nothing that the next plan cannot recover.
 */

import { OutcomeUnknownError } from '../api/errors.js';
import type { ConfirmNewAnswer, LiveMethod, MethodType } from '../api/types.js';
import { TfaError } from '../errors.js';
import type { Verifier } from '../plan/types.js';
import { normalizeSeed } from '../totp/index.js';
import { ensureAuthorized } from './authorize.js';
import { type AccountRun, emit, nowSeconds } from './context.js';
import { storeBackupCodes } from './backup-codes.js';
import { sendSmsCode } from './sms.js';
import { apiCodeOf, providedCode, totpCode } from './verify.js';

export interface EnrollRequest {
  type: MethodType;
  label: string;
  primary: boolean;
  phone?: string;
  authorization: Verifier | null;
}

/** Sends confirm-new, opening the window again once if it closed since the status was read. */
async function confirm(run: AccountRun, request: Parameters<AccountRun['client']['confirmNew']>[0], authorization: Verifier | null): Promise<ConfirmNewAnswer> {
  try {
    return await run.client.confirmNew(request);
  } catch (error) {
    if (apiCodeOf(error) !== 'authorization_required') throw error;
    run.authorized = false;
    await ensureAuthorized(run, authorization);
    return run.client.confirmNew(request);
  }
}

/** Finds the method confirm-new created: the right type and label, absent before. */
function findCreated(methods: LiveMethod[], before: ReadonlySet<number>, type: MethodType, label: string): LiveMethod | undefined {
  return methods.find((m) => m.method === type && m.label === label && !before.has(m.id));
}

async function enrollTotp(run: AccountRun, request: EnrollRequest, before: ReadonlySet<number>): Promise<{ answer: ConfirmNewAnswer | null; step: number | undefined }> {
  const setup = await run.client.totpSetup();
  const seed = normalizeSeed(setup.secret);
  const time = new Date().toISOString();
  await run.journal.update((record) => {
    record.methods = record.methods.filter((r) => !(r.label === request.label && r.state === 'pending'));
    record.methods.push({ label: request.label, type: 'totp', seed, methodId: null, state: 'pending', createdAt: time, updatedAt: time });
  });
  emit(run, `stored the new seed for "${request.label}" as pending`);

  const code = await totpCode(run, seed, null);
  try {
    const answer = await confirm(run, { tfa_method: 'totp', code, secret: seed, label: request.label }, request.authorization);
    return { answer, step: undefined };
  } catch (error) {
    if (!(error instanceof OutcomeUnknownError)) throw error;
    // The response was lost, so the status shows whether the method exists.
    run.observed = await run.client.getStatus();
    if (!findCreated(run.observed.methods, before, 'totp', request.label)) throw error;
    emit(run, `confirm-new for "${request.label}" succeeded but its answer was lost`, 'warning');
    return { answer: null, step: undefined };
  }
}

async function enrollSms(run: AccountRun, request: EnrollRequest): Promise<ConfirmNewAnswer> {
  const phone = request.phone ?? '';
  const sentAfter = nowSeconds(run);
  const secret = await sendSmsCode(run, { phone });
  const code = await providedCode(run, 'sms', sentAfter, request.label);
  return confirm(run, { tfa_method: 'sms', code, secret, phone_number: phone, label: request.label }, request.authorization);
}

/** Enrolls one method and returns its id; the store records it as active when it is TOTP. */
export async function enroll(run: AccountRun, request: EnrollRequest): Promise<number> {
  await ensureAuthorized(run, request.authorization);
  const before = new Set(run.observed.methods.map((m) => m.id));

  let answer: ConfirmNewAnswer | null;
  if (request.type === 'totp') answer = (await enrollTotp(run, request, before)).answer;
  else answer = await enrollSms(run, request);

  if (answer?.backup_codes) await storeBackupCodes(run, answer.backup_codes);
  const lostFirstAnswer = answer === null && before.size === 0;

  run.observed = await run.client.getStatus();
  const created = findCreated(run.observed.methods, before, request.type, request.label);
  if (!created) {
    throw new TfaError('enroll_not_found', `confirm-new succeeded but no ${request.type} method labelled "${request.label}" appeared on "${run.desired.name}"`, {
      hint: 'run plan to see the account as it is now',
    });
  }

  if (run.journal.record.userId === undefined || request.type === 'totp') {
    await run.journal.update((record) => {
      record.userId = created.user_id;
      if (request.type !== 'totp') return;
      for (const r of record.methods) {
        if (r.label !== request.label || r.state === 'retired') continue;
        if (r.state === 'pending' && r.methodId === null) {
          r.methodId = created.id;
          r.state = 'active';
          r.updatedAt = new Date().toISOString();
        } else if (r.methodId !== created.id) {
          // The method this record belonged to is being replaced: keep the seed until it is removed.
          r.state = 'retired';
          r.updatedAt = new Date().toISOString();
        }
      }
    });
  }
  emit(run, `enrolled ${request.type} method "${request.label}" as #${created.id}`);

  if (request.primary && !created.is_primary) {
    await run.client.updateMethod({ tfa_method_id: created.id, is_primary: true });
    emit(run, `made "${request.label}" (#${created.id}) primary`);
  }
  if (lostFirstAnswer) run.lostBackupCodes = true;
  return created.id;
}
