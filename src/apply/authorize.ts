/**
 * Opens the add-method window once per apply. An account with no method is always
 * authorized by an emailed code; otherwise the planned verifier is used, with the same
 * fallback rules as any other verification.
 */

import { OutcomeUnknownError } from '../api/errors.js';
import type { Verifier } from '../plan/types.js';
import { describeVerifier } from '../plan/verifier.js';
import { type AccountRun, emit, nowSeconds } from './context.js';
import { providedCode, seedFor, spendBackupCode, totpCode, VerificationError, withVerification } from './verify.js';

async function authorizeWith(run: AccountRun, verifier: Verifier): Promise<void> {
  const { client } = run;
  if (verifier.kind === 'backupCode') {
    await client.authorizeNewMethod({ backup_code: await spendBackupCode(run) });
    return;
  }

  // The POST sends the SMS or email code itself; the PUT carries the code back with the
  // challenge token the POST returned.
  const sentAfter = nowSeconds(run);
  if (verifier.kind === 'totp') {
    const { seed, methodId } = seedFor(run, verifier);
    const { secret } = await client.authorizeNewMethod({ tfa_method: 'totp', tfa_method_id: methodId });
    const code = await totpCode(run, seed, methodId);
    await client.completeAuthorization({ secret: secret ?? '', code });
    return;
  }
  const request = verifier.kind === 'sms' ? { tfa_method: 'sms' as const, tfa_method_id: verifier.methodId } : { tfa_method: 'email' as const };
  const { secret } = await client.authorizeNewMethod(request);
  const code = await providedCode(run, verifier.kind, sentAfter, verifier.kind === 'sms' ? verifier.label : undefined);
  await client.completeAuthorization({ secret: secret ?? '', code });
}

export async function ensureAuthorized(run: AccountRun, planned: Verifier | null): Promise<void> {
  if (run.authorized) return;

  const first: Verifier | null = run.observed.methods.length === 0 ? { kind: 'email' } : planned;
  if (first === null) {
    throw new VerificationError('no_verifier', `no usable method can authorize adding a method to "${run.desired.name}"`, {
      hint: 'set emailCodes for the account, or restore a method the tool can verify with',
    });
  }

  const used = await withVerification(run, first, new Set(), async (verifier) => {
    try {
      await authorizeWith(run, verifier);
    } catch (error) {
      if (!(error instanceof OutcomeUnknownError)) throw error;

      // The response was lost, so the status shows whether the window opened. If it did not, one
      // more attempt starts a fresh challenge, which is safe because a challenge adds nothing.
      run.observed = await run.client.getStatus();
      if (run.observed.new_method_authorized) return verifier;
      emit(run, 'the answer to an authorization request was lost and the window is not open: trying once more', 'warning');
      await authorizeWith(run, verifier);
    }
    return verifier;
  });
  emit(run, `authorized adding methods with ${describeVerifier(used)}`);
  run.authorized = true;
}
