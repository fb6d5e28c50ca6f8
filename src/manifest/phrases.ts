/** Phrases shared by manifest messages: how values, locations and sample lines are written. */
import { formatPath } from './position.js';

/** Sample lines that show how to write a key, used in messages about missing or empty keys. */
export const EXAMPLES: Readonly<Record<string, string>> = {
  apiVersion: 'apiVersion: tfa-gitops/v1',
  kind: 'kind: TwoFactorManifest',
  store: 'store: file://.tfa-gitops/secrets.age',
  accounts: 'accounts: [{ name: ml-prod, methods: [{ label: ci-bot, type: totp }] }]',
  name: 'name: ml-prod',
  apiKey: 'apiKey: { env: VAST_API_KEY_ML_PROD }',
  emailCodes: 'emailCodes: { command: ./read-mail.sh }',
  methods: 'methods: [{ label: ci-bot, type: totp }]',
  backupCodes: 'backupCodes: { minRemaining: 3 }',
  minRemaining: 'minRemaining: 3',
  unmanaged: 'unmanaged: report',
  verifyWith: 'verifyWith: [totp, sms, email, backupCode]',
  allowDisable: 'allowDisable: true',
  label: 'label: ci-bot',
  type: 'type: totp',
  primary: 'primary: true',
  rotateAfterDays: 'rotateAfterDays: 90',
  phone: 'phone: "+12125551234"',
  codes: 'codes: { command: ./read-sms.sh }',
  env: 'env: VARIABLE_NAME',
  file: 'file: ./vast-api-key.txt',
  command: 'command: ./read-code.sh',
  timeoutSeconds: 'timeoutSeconds: 60',
};

/** Wording of JSON Schema type names in messages. */
export const TYPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map of keys and values',
};

/**
 * Names a value by its key and where it is, with the value itself when given:
 * `phone in accounts[0].methods[1]`, `label "x" in accounts[0].methods[0]`, `verifyWith[2] in accounts[0]`.
 */
export function describeSubject(segments: readonly string[], value?: string): string {
  if (segments.length === 0) return 'the manifest';

  let split = segments.length - 1;
  while (split > 0 && /^\d+$/.test(segments[split] ?? '')) split -= 1;
  const key = formatPath(segments.slice(split));
  const name = value === undefined ? key : `${key} ${value}`;
  const parent = segments.slice(0, split);
  return parent.length === 0 ? name : `${name} in ${formatPath(parent)}`;
}

/** Describes a value for a message: strings quoted, lists and maps by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeKind(value);
}

/** Describes what kind of value was found: "a list", "a map", "the number 5". */
export function describeKind(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

/** Formats an allowed value for a message: a string as written, anything else as JSON. */
export function formatAllowed(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Joins words as "a, b or c". */
export function joinOr(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words.at(-1) ?? ''}`;
}
