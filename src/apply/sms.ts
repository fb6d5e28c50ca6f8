/**
 * Sending SMS codes. The server rejects a second send to one number within a minute
 * (`tfa_challenge_exists`) and expects a resend instead. Every challenge token is therefore
 * kept in the store, so a run that follows a killed or failed one resends the earlier
 * challenge rather than waiting.
 */

import { TfaError } from '../errors.js';
import { type AccountRun, emit } from './context.js';
import { apiCodeOf } from './verify.js';

/** A challenge is usable this long after it was sent. */
const CHALLENGE_TTL_MS = 10 * 60 * 1000;
/** How long to wait for the server's one-minute guard when no earlier token is known. */
const GUARD_WAIT_MS = 61 * 1000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolveSleep, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolveSleep, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

async function remember(run: AccountRun, destination: string, secret: string): Promise<void> {
  const now = Date.now();
  await run.journal.update((record) => {
    const fresh = (record.smsChallenges ?? []).filter(
      (c) => c.destination !== destination && now - Date.parse(c.sentAt) < CHALLENGE_TTL_MS,
    );
    fresh.push({ destination, secret, sentAt: new Date(now).toISOString() });
    record.smsChallenges = fresh;
  });
}

/**
 * Sends an SMS code to a number (enrollment) or to an SMS method (verification) and returns
 * the challenge token. On `tfa_challenge_exists` it resends a stored earlier challenge, or
 * waits out the server's guard once when there is none.
 */
export async function sendSmsCode(run: AccountRun, target: { phone: string } | { methodId: number }): Promise<string> {
  const destination = 'phone' in target ? target.phone : `method:${target.methodId}`;
  const request = 'phone' in target ? { phone_number: target.phone } : { tfa_method_id: target.methodId };

  try {
    const { secret } = await run.client.sendSms(request);
    await remember(run, destination, secret);
    return secret;
  } catch (error) {
    if (apiCodeOf(error) !== 'tfa_challenge_exists') throw error;
  }

  const earlier = (run.journal.record.smsChallenges ?? []).find(
    (c) => c.destination === destination && Date.now() - Date.parse(c.sentAt) < CHALLENGE_TTL_MS,
  );
  if (earlier) {
    try {
      await run.client.resendSms({ secret: earlier.secret });
      emit(run, 'an SMS code was sent less than a minute ago: asked the server to send it again');
      return earlier.secret;
    } catch (error) {
      const code = apiCodeOf(error);
      if (code !== 'challenge_not_found' && code !== 'no_challenge_found' && code !== '2fa_expired') throw error;
    }
  }

  emit(run, 'an SMS code was sent less than a minute ago by another run: waiting a minute to send a new one');
  await sleep(GUARD_WAIT_MS, run.options.signal);
  try {
    const { secret } = await run.client.sendSms(request);
    await remember(run, destination, secret);
    return secret;
  } catch (error) {
    if (apiCodeOf(error) !== 'tfa_challenge_exists') throw error;
    throw new TfaError('sms_busy', `sending an SMS code for "${run.desired.name}" failed: the server still rejects a new code a minute later`, {
      hint: 'wait a few minutes, then run apply again',
    });
  }
}
