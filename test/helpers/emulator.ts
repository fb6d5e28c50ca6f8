/**
 * Test helpers around the in-process emulator: start and stop it, create accounts, read
 * its outbox and state, call the API with raw fetch, and enroll a TOTP or SMS method in one call.
 */

import { generate } from 'otplib';

import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';

export interface OutboxMessage {
  channel: 'email' | 'sms';
  to: string;
  code: string;
  sent_at: number;
}

/** Status, parsed JSON body and headers of one API call. */
export interface ApiResponse {
  status: number;
  // Tests read arbitrary fields of the body, so it stays untyped here.
  body: any;
  headers: Headers;
}

/** Runs `fn` against an emulator on a free loopback port, and always closes it. */
export async function withEmulator<T>(fn: (emu: RunningEmulator) => Promise<T>, options: EmulatorOptions = {}): Promise<T> {
  const emu = await startEmulator({ port: 0, ...options });
  try {
    return await fn(emu);
  } finally {
    await emu.close();
  }
}

/** Creates an account through `POST /_emulator/accounts`. */
export async function createAccount(
  url: string,
  email?: string,
  emailVerified?: boolean,
): Promise<{ id: number; email: string; apiKey: string }> {
  const body: Record<string, unknown> = {};
  if (email !== undefined) body['email'] = email;
  if (emailVerified !== undefined) body['email_verified'] = emailVerified;

  const response = await callApi(url, undefined, 'POST', '/_emulator/accounts', body);
  if (response.status !== 200) throw new Error(`creating an account failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { id: response.body.id, email: response.body.email, apiKey: response.body.api_key };
}

/** Returns the messages sent for the account with `apiKey`, oldest first. */
export async function readOutbox(url: string, apiKey: string): Promise<OutboxMessage[]> {
  const response = await callApi(url, apiKey, 'GET', '/_emulator/outbox');
  if (response.status !== 200) throw new Error(`reading the outbox failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.messages;
}

/** Returns the code of the newest message of `channel` in the account's outbox. */
export async function latestCode(url: string, apiKey: string, channel: 'email' | 'sms'): Promise<string> {
  const newest = (await readOutbox(url, apiKey)).filter((message) => message.channel === channel).at(-1);
  if (newest === undefined) throw new Error(`the outbox has no ${channel} message`);
  return newest.code;
}

/** Returns the whole emulator state, as `GET /_emulator/state` does. */
export async function readState(url: string): Promise<any> {
  const response = await callApi(url, undefined, 'GET', '/_emulator/state');
  if (response.status !== 200) throw new Error(`reading the state failed: ${response.status}`);
  return response.body;
}

/**
 * Calls the emulator with raw fetch. `apiKey` goes into `Authorization: Bearer`; `body` is
 * sent as JSON unless it is a string, which is sent as is.
 */
export async function callApi(url: string, apiKey: string | undefined, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (apiKey !== undefined) headers['Authorization'] = `Bearer ${apiKey}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);

  const response = await fetch(new URL(path, url), init);
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

/** Generates the TOTP code of `secret` at `epochSeconds` (SHA-1, 6 digits, 30 s). */
export function totpCode(secret: string, epochSeconds: number): Promise<string> {
  return generate({ secret, epoch: Math.floor(epochSeconds) });
}

/** Returns the emulator's current time in epoch seconds, clock offset included. */
export async function emulatorNow(url: string): Promise<number> {
  return (await readState(url)).now;
}

/**
 * Opens the add-method window by an emailed code. The account's email must be verified.
 */
export async function authorizeByEmail(url: string, apiKey: string): Promise<void> {
  const started = await callApi(url, apiKey, 'POST', '/api/v0/tfa/authorize-new-method/', { tfa_method: 'email' });
  if (started.status !== 200) throw new Error(`authorize-new-method failed: ${started.status} ${JSON.stringify(started.body)}`);

  const code = await latestCode(url, apiKey, 'email');
  const completed = await callApi(url, apiKey, 'PUT', '/api/v0/tfa/authorize-new-method/', { secret: started.body.secret, code });
  if (completed.status !== 200) throw new Error(`completing the authorization failed: ${completed.status} ${JSON.stringify(completed.body)}`);
}

/**
 * Adds a TOTP method: authorizes by email, gets a seed from totp-setup and confirms it with
 * a code at the emulator's current time. Returns the new method's id, its seed, the backup
 * codes when it is the account's first method, and the emulator time of the confirmation.
 */
export async function enrollTotp(
  url: string,
  apiKey: string,
  label?: string,
): Promise<{ methodId: number; secret: string; backupCodes: string[] | undefined; confirmedAt: number }> {
  await authorizeByEmail(url, apiKey);

  const setup = await callApi(url, apiKey, 'POST', '/api/v0/tfa/totp-setup/', {});
  if (setup.status !== 200) throw new Error(`totp-setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  const secret: string = setup.body.secret;
  const confirmedAt = await emulatorNow(url);

  const body: Record<string, unknown> = { tfa_method: 'totp', secret, code: await totpCode(secret, confirmedAt) };
  if (label !== undefined) body['label'] = label;
  const confirmed = await callApi(url, apiKey, 'POST', '/api/v0/tfa/confirm-new/', body);
  if (confirmed.status !== 200) throw new Error(`confirm-new failed: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);

  const status = await callApi(url, apiKey, 'GET', '/api/v0/tfa/status/');
  const method = status.body.methods.at(-1);
  return { methodId: method.id, secret, backupCodes: confirmed.body.backup_codes, confirmedAt };
}

/**
 * Adds an SMS method for `phoneNumber`: authorizes by email, sends the enrollment code and
 * confirms it from the outbox. Returns the new method's id, and the backup codes when it
 * is the account's first method.
 */
export async function enrollSms(
  url: string,
  apiKey: string,
  phoneNumber: string,
  label?: string,
): Promise<{ methodId: number; backupCodes: string[] | undefined }> {
  await authorizeByEmail(url, apiKey);

  const sent = await callApi(url, apiKey, 'POST', '/api/v0/tfa/sms/', { phone_number: phoneNumber });
  if (sent.status !== 200) throw new Error(`sending the SMS failed: ${sent.status} ${JSON.stringify(sent.body)}`);

  const body: Record<string, unknown> = {
    tfa_method: 'sms',
    phone_number: phoneNumber,
    secret: sent.body.secret,
    code: await latestCode(url, apiKey, 'sms'),
  };
  if (label !== undefined) body['label'] = label;
  const confirmed = await callApi(url, apiKey, 'POST', '/api/v0/tfa/confirm-new/', body);
  if (confirmed.status !== 200) throw new Error(`confirm-new failed: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);

  const status = await callApi(url, apiKey, 'GET', '/api/v0/tfa/status/');
  const method = status.body.methods.at(-1);
  return { methodId: method.id, backupCodes: confirmed.body.backup_codes };
}
