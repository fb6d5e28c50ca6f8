/**
 * Redaction of API bodies for the `--explain` trace and for error messages. Seeds, codes,
 * backup codes, challenge secrets, session keys, API keys and tokens never leave this module
 * in clear, and phone numbers keep only their last 4 digits.
 */

export const REDACTED = '[redacted]';

/**
 * Keys whose values are secret, compared after lower-casing and dropping `_` and `-`, so
 * that `backup_codes`, `backupCodes` and `Backup-Codes` all match.
 */
const SECRET_KEYS = new Set([
  'code',
  'secret',
  'backupcode',
  'backupcodes',
  'sessionkey',
  'apikey',
  'provisioninguri',
  'token',
]);

const PHONE_KEYS = new Set(['phonenumber']);

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Returns true when values under `key` are secret and must be redacted. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(normalizeKey(key));
}

/**
 * Masks a phone number to its last 4 digits, in the API's own form: "******1234". Masking
 * an already masked number returns it unchanged.
 */
export function maskPhoneNumber(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return `******${digits.slice(-4)}`;
}

/**
 * Returns a deep copy of `value` with every secret value replaced by "[redacted]" and every
 * phone number masked. Arrays under a secret key keep their length, so a trace still shows
 * that 10 backup codes came back. Each of `knownSecrets` is also replaced wherever it
 * occurs inside another string, such as a server message that quotes a code. The input is
 * not modified.
 */
export function redact(value: unknown, knownSecrets: Iterable<string> = []): unknown {
  const context: RedactContext = { seen: new WeakSet(), knownSecrets: [...knownSecrets] };
  return redactValue(value, context);
}

interface RedactContext {
  seen: WeakSet<object>;
  knownSecrets: string[];
}

function redactValue(value: unknown, context: RedactContext): unknown {
  if (typeof value === 'string') {
    return context.knownSecrets.length === 0 ? value : scrubText(value, context.knownSecrets);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const { seen } = context;
  if (seen.has(value)) {
    return '[circular]';
  }
  seen.add(value);

  if (Array.isArray(value)) {
    const copy = value.map((item) => redactValue(item, context));
    seen.delete(value);
    return copy;
  }

  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = redactEntry(key, item, context);
  }
  seen.delete(value);
  return copy;
}

function redactEntry(key: string, item: unknown, context: RedactContext): unknown {
  if (item === null || item === undefined) {
    return item;
  }

  const normalized = normalizeKey(key);
  if (SECRET_KEYS.has(normalized)) {
    return Array.isArray(item) ? item.map(() => REDACTED) : REDACTED;
  }
  if (PHONE_KEYS.has(normalized)) {
    return typeof item === 'string' ? maskPhoneNumber(item) : REDACTED;
  }
  return redactValue(item, context);
}

/**
 * Collects every secret string inside `value`: the values that `redact` would hide,
 * including the full phone numbers. Tests feed the result to `findLeakedSecrets`, and the
 * client uses it to scrub server messages that echo a request.
 */
export function collectSecrets(value: unknown): string[] {
  const found = new Set<string>();
  collectInto(value, false, found, new WeakSet());
  return [...found];
}

function collectInto(value: unknown, underSecretKey: boolean, found: Set<string>, seen: WeakSet<object>): void {
  if (typeof value === 'string') {
    if (underSecretKey && value !== '') {
      found.add(value);
    }
    return;
  }
  if (typeof value === 'number' && underSecretKey) {
    found.add(String(value));
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) {
    return;
  }
  seen.add(value);

  if (Array.isArray(value)) {
    for (const item of value) {
      collectInto(item, underSecretKey, found, seen);
    }
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const normalized = normalizeKey(key);
    const secret = underSecretKey || SECRET_KEYS.has(normalized) || PHONE_KEYS.has(normalized);
    collectInto(item, secret, found, seen);
  }
}

/**
 * Secrets shorter than this are not searched for, because strings such as "1" or "ok"
 * occur by chance. A 6-digit code is long enough to be checked.
 */
const MIN_SECRET_LENGTH = 4;

/**
 * Returns the secrets that occur in `output` (a string, or any value, searched as JSON).
 * A phone number counts as leaked only in full: its masked form is allowed.
 */
export function findLeakedSecrets(output: unknown, secrets: Iterable<string>): string[] {
  const text = typeof output === 'string' ? output : JSON.stringify(output) ?? '';
  const leaked: string[] = [];
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH && text.includes(secret)) {
      leaked.push(secret);
    }
  }
  return leaked;
}

/** Replaces every occurrence of each secret in `text` with "[redacted]". */
export function scrubText(text: string, secrets: Iterable<string>): string {
  // Replace longer secrets first, so that a secret containing a shorter one is replaced whole.
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  let scrubbed = text;
  for (const secret of ordered) {
    if (secret.length >= MIN_SECRET_LENGTH) {
      scrubbed = scrubbed.split(secret).join(REDACTED);
    }
  }
  return scrubbed;
}
