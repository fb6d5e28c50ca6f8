/**
 * The emulator's own endpoints under `/_emulator/`, for tests, demos and scripts. The real
 * service has none of them.
 */

import { readBoolean, readString } from './body.js';
import { adminRoute, authenticate, type AdminContext, type EmulatorCore } from './context.js';
import { badRequest } from './errors.js';
import { newApiKey } from './random.js';
import type { Route } from './server.js';
import { takeSnapshot } from './snapshot.js';
import type { AccountModel } from './state.js';

/** Maximum length of an email address, the limit RFC 5321 sets for a forward path. */
const MAX_EMAIL_LENGTH = 254;

export function adminRoutes(core: EmulatorCore): Route[] {
  return [
    adminRoute(core, 'POST', '/_emulator/accounts', createAccount),
    adminRoute(core, 'GET', '/_emulator/outbox', readOutbox),
    adminRoute(core, 'GET', '/_emulator/state', ({ core: { clock, state } }) => takeSnapshot({ clock, state })),
    adminRoute(core, 'POST', '/_emulator/clock', setClock),
  ];
}

/** Creates an account with a new API key; the email defaults to `user<id>@example.com`. */
function createAccount({ core: { state }, body }: AdminContext): unknown {
  const email = readString(body, 'email', MAX_EMAIL_LENGTH);
  const emailVerified = readBoolean(body, 'email_verified') ?? true;
  if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) {
    throw badRequest('email is not a valid address; send one such as "ops@example.com"');
  }

  const id = state.next_account_id;
  state.next_account_id += 1;

  const account: AccountModel = {
    id,
    email: email ?? `user${id}@example.com`,
    email_verified: emailVerified,
    api_key: newApiKey(),
    methods: [],
    removed_methods: [],
    backup_codes: [],
    issued_seeds: [],
    authorized_until: null,
    email_wrong_codes_total: 0,
  };
  state.accounts.push(account);
  return { id: account.id, email: account.email, api_key: account.api_key };
}

/** Returns the messages sent for the account that the bearer key names, oldest first. */
function readOutbox({ core, request }: AdminContext): unknown {
  const account = authenticate(core, request);
  const messages = core.state.outbox
    .filter((message) => message.account_id === account.id)
    .map(({ channel, to, code, sent_at }) => ({ channel, to, code, sent_at }));
  return { messages };
}

/** Sets (does not add to) the clock offset in seconds. */
function setClock({ core: { clock }, body }: AdminContext): unknown {
  const offset = body['offset_seconds'];
  if (typeof offset !== 'number' || !Number.isFinite(offset)) throw badRequest('offset_seconds must be a number of seconds');

  clock.setOffsetSeconds(offset);
  return { offset_seconds: offset, now: clock.nowSeconds() };
}
