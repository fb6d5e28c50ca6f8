/**
 * Turns ajv's schema errors into plain-English problems located in the YAML source: what is
 * wrong, on which key or value, and what to write instead. No ajv wording reaches the user
 * except in the fallback for a keyword this file does not know.
 */
import type { ErrorObject } from 'ajv';
import type { Node } from 'yaml';

import type { ParsedManifestFile } from './document.js';
import { problemAt, type ManifestProblem } from './errors.js';
import { EXAMPLES, TYPE_DESCRIPTIONS, describeKind, describeSubject, describeValue, formatAllowed, joinOr } from './phrases.js';
import { findNode, formatLocation, formatPath, nodeSource, pointerSegments, startOffset } from './position.js';
import { suggestNearest } from './suggest.js';

/** Keys that hold a code provider: `prompt`, `{ prompt: true }`, `{ env }` or `{ command }`. */
const CODE_PROVIDER_KEYS = new Set(['emailCodes', 'codes']);
const CODE_PROVIDER_KINDS = ['prompt', 'env', 'command'];
const SECRET_SOURCE_KINDS = ['env', 'file', 'store'];

/** Method keys that only one method type accepts. */
const METHOD_TYPE_OF_KEY: Readonly<Record<string, string>> = { phone: 'sms', codes: 'sms', rotateAfterDays: 'totp' };

interface LocatedMessage {
  offset: number;
  message: string;
}

/** Maps the errors of one file's validation to problems, at most one per mistake. */
export function describeSchemaErrors(file: ParsedManifestFile, errors: readonly ErrorObject[]): ManifestProblem[] {
  const relevant = errors.filter((error) => !isRedundant(error, errors, file.data));
  const seen = new Set<string>();
  const problems: ManifestProblem[] = [];

  for (const error of relevant) {
    const { offset, message } = describeError(file, error);
    const id = `${offset}\u0000${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    problems.push(problemAt(file.source, offset, message));
  }

  return problems;
}

/**
 * Recognizes errors that only repeat another one. These are the summary that an `if` branch
 * failed, and a missing key whose misspelling is already reported as an unknown key. The
 * third is a code provider's "too many keys" when the extra key is a timeoutSeconds without
 * a command, which the dependentRequired error already reports.
 */
function isRedundant(error: ErrorObject, all: readonly ErrorObject[], root: unknown): boolean {
  if (error.keyword === 'if') return true;

  if (error.keyword === 'required') {
    const missing = String(error.params['missingProperty']);
    return all.some(
      (other) =>
        other.keyword === 'additionalProperties' &&
        other.instancePath === error.instancePath &&
        suggestKey(other) === missing,
    );
  }

  if (error.keyword === 'maxProperties' && isCodeProviderPath(pointerSegments(error.instancePath))) {
    const provider = dataAt(root, pointerSegments(error.instancePath));
    return presentKeys(provider, CODE_PROVIDER_KINDS).length < 2;
  }

  return false;
}

function describeError(file: ParsedManifestFile, error: ErrorObject): LocatedMessage {
  const segments = pointerSegments(error.instancePath);
  const lookup = findNode(file.doc, segments);
  const valueOffset = startOffset(lookup);
  const subject = describeSubject(segments);
  const key = segments.at(-1) ?? '';
  const data: unknown = error.data;
  const params = error.params as Record<string, unknown>;

  if (isCodeProviderPath(segments) && (error.keyword === 'const' || error.keyword === 'type')) {
    const actualText = typeof data === 'string' ? `, not ${describeValue(data)}` : `, not ${describeKind(data)}`;
    const message = `${subject} must be prompt, or a map with one of the keys prompt, env or command${actualText}; ` +
      `e.g. ${EXAMPLES[key] ?? 'codes: prompt'}`;
    return { offset: valueOffset, message };
  }

  switch (error.keyword) {
    case 'additionalProperties':
      return describeUnknownKey(file, segments, error);
    case 'required':
      return { offset: valueOffset, message: describeMissingKey(segments, error) };
    case 'false schema':
      return describeMisplacedKey(file, segments);
    case 'type':
      return {
        offset: valueOffset,
        message: describeWrongType(file, subject, key, data, String(params['type']), lookup.node),
      };
    case 'const':
      return {
        offset: valueOffset,
        message: `${subject} must be ${formatAllowed(params['allowedValue'])}, not ${describeValue(data)}`,
      };
    case 'enum':
      return { offset: valueOffset, message: describeEnum(subject, data, params['allowedValues']) };
    case 'pattern':
      // An empty string fails the patterns too; minLength reports it once, with this same message.
      if (data === '') return { offset: valueOffset, message: describeEmptyString(subject, key) };

      return {
        offset: valueOffset,
        message: describePattern(describeSubject(segments, describeValue(data)), key, String(params['pattern'])),
      };
    case 'minLength':
      return { offset: valueOffset, message: describeEmptyString(subject, key) };
    case 'maxLength': {
      // ajv counts Unicode code points, and so does this message.
      const length = [...String(data)].length;
      const named = describeSubject(segments, describeValue(data));
      const message = `${named} is ${length} characters long; the limit is ${String(params['limit'])}`;
      return { offset: valueOffset, message };
    }
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return { offset: valueOffset, message: describeBound(subject, data, params) };
    case 'minItems':
      return { offset: valueOffset, message: describeEmptyList(file.data, segments, subject) };
    case 'uniqueItems': {
      const list = Array.isArray(data) ? (data as unknown[]) : [];
      const repeated = describeValue(list[Number(params['i'])]);
      const items = `items ${String(params['j'])} and ${String(params['i'])}`;
      return { offset: valueOffset, message: `${subject} lists ${repeated} twice (${items}); list each one once` };
    }
    case 'minProperties':
      return { offset: valueOffset, message: describeEmptyChoice(subject, key) };
    case 'maxProperties':
      return { offset: valueOffset, message: describeSeveralChoices(subject, key, data) };
    case 'dependentRequired': {
      const property = String(params['property']);
      const keyOffset = startOffset(findNode(file.doc, [...segments, property]), true);
      const message = `${property} in ${formatPath(segments)} applies only to a command provider; ` +
        `add ${EXAMPLES['command'] ?? 'command'}, or remove ${property}`;
      return { offset: keyOffset, message };
    }
    default: {
      const reason = error.message ?? `fails the schema keyword ${error.keyword}`;
      return { offset: valueOffset, message: `${subject}: ${reason}` };
    }
  }
}

function describeUnknownKey(file: ParsedManifestFile, segments: string[], error: ErrorObject): LocatedMessage {
  const unknown = String(error.params['additionalProperty']);
  const offset = startOffset(findNode(file.doc, [...segments, unknown]), true);
  const where = formatLocation(segments);
  const suggestion = suggestKey(error);

  const fix = suggestion === undefined
    ? `; the keys allowed there are ${knownKeys(error).join(', ')}`
    : `; did you mean "${suggestion}"?`;
  return { offset, message: `unknown key "${unknown}" ${where}${fix}` };
}

function describeMissingKey(segments: string[], error: ErrorObject): string {
  const missing = String(error.params['missingProperty']);
  const where = formatLocation(segments);
  // Only the sms branch of a method requires keys through if/then.
  const reason = error.schemaPath.includes('/then/') ? ', which an sms method needs' : '';
  return `missing key "${missing}" ${where}${reason}; add ${EXAMPLES[missing] ?? `${missing}: ...`}`;
}

/** Describes a key that the method's type does not accept, e.g. phone in a totp method. */
function describeMisplacedKey(file: ParsedManifestFile, segments: string[]): LocatedMessage {
  const key = segments.at(-1) ?? '';
  const methodSegments = segments.slice(0, -1);
  const offset = startOffset(findNode(file.doc, segments), true);
  const method = dataAt(file.data, methodSegments) as Record<string, unknown> | undefined;
  const actualType = String(method?.['type']);
  const acceptedBy = METHOD_TYPE_OF_KEY[key];

  const where = formatPath(methodSegments);
  if (acceptedBy === undefined) return { offset, message: `key "${key}" is not allowed in ${where}; remove it` };
  const alternative = acceptedBy === 'sms' ? `, or set type: sms if this is an SMS method` : '';
  return {
    offset,
    message: `key "${key}" applies only to ${acceptedBy} methods, and ${where} has type: ${actualType}; remove ${key}${alternative}`,
  };
}

function describeWrongType(
  file: ParsedManifestFile,
  subject: string,
  key: string,
  data: unknown,
  expected: string,
  node: Node | undefined,
): string {
  if (data === null) return `${subject} has no value; write one, e.g. ${EXAMPLES[key] ?? `${key}: ...`}`;

  const written = nodeSource(file.source, node) ?? String(data);
  if (expected === 'string' && (typeof data === 'number' || typeof data === 'boolean')) {
    return `${subject} must be a string, but YAML reads ${written} as the ${typeof data} ${String(data)}; ` +
      `write it in quotes: ${JSON.stringify(written)}`;
  }

  const isNumericString = typeof data === 'string' && data.trim() !== '' && Number.isFinite(Number(data));
  if ((expected === 'integer' || expected === 'number') && isNumericString) {
    return `${subject} must be a number, not the string ${JSON.stringify(data)}; remove the quotes`;
  }
  if (expected === 'integer' && typeof data === 'number') return `${subject} must be a whole number, not ${written}`;

  if (expected === 'boolean' && typeof data === 'string') {
    const unquote = data === 'true' || data === 'false'
      ? 'remove the quotes'
      : `write true or false (YAML 1.2 reads ${written} as a string)`;
    return `${subject} must be true or false, not the string ${JSON.stringify(data)}; ${unquote}`;
  }

  const expectedText = TYPE_DESCRIPTIONS[expected] ?? expected;
  const example = EXAMPLES[key] === undefined ? '' : `; e.g. ${EXAMPLES[key]}`;
  return `${subject} must be ${expectedText}, not ${describeKind(data)}${example}`;
}

function describeEnum(subject: string, data: unknown, allowedValues: unknown): string {
  const allowed = Array.isArray(allowedValues) ? allowedValues.map(String) : [];
  const suggestion = typeof data === 'string' ? suggestNearest(data, allowed) : undefined;
  const hint = suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`;
  return `${subject} must be one of ${allowed.join(', ')}, not ${describeValue(data)}${hint}`;
}

/** `subject` names the key, the value and where it is. */
function describePattern(subject: string, key: string, pattern: string): string {
  switch (key) {
    case 'name':
      return `${subject} is not a valid account name: use lowercase letters, digits, ".", "_" and "-", ` +
        'starting with a letter or a digit, at most 63 characters (e.g. ml-prod)';
    case 'phone':
      return `${subject} is not an E.164 phone number: write "+", the country code and the number, ` +
        '7 to 15 digits without spaces or dashes, in quotes (e.g. "+12125551234")';
    case 'label':
      return `${subject} starts or ends with white space, or contains a line break; remove it`;
    case 'env':
      return `${subject} is not a valid environment variable name: it must not contain "=" or a NUL character`;
    default:
      return `${subject} does not match the pattern ${pattern}`;
  }
}

function describeBound(subject: string, data: unknown, params: Record<string, unknown>): string {
  const limit = String(params['limit']);
  const comparison = String(params['comparison']);
  const bounds: Record<string, string> = {
    '>=': `at least ${limit}`,
    '<=': `at most ${limit}`,
    '>': `more than ${limit}`,
    '<': `less than ${limit}`,
  };
  return `${subject} is ${String(data)}; it must be ${bounds[comparison] ?? `${comparison} ${limit}`}`;
}

function describeEmptyList(root: unknown, segments: string[], subject: string): string {
  const key = segments.at(-1);
  if (key === 'methods') {
    const account = dataAt(root, segments.slice(0, -1)) as Record<string, unknown> | undefined;
    const name = typeof account?.['name'] === 'string' ? ` "${account['name']}"` : '';
    return `${subject} is empty, which would remove every method and disable two-factor authentication ` +
      `on account${name}; list at least one method, or add allowDisable: true to the account to allow it`;
  }
  if (key === 'verifyWith') {
    return `${subject} is empty; list at least one of totp, sms, email, backupCode, ` +
      'or remove verifyWith to try them in that order';
  }
  const example = EXAMPLES[key ?? ''];
  return `${subject} is empty; list at least one item${example === undefined ? '' : `, e.g. ${example}`}`;
}

function describeEmptyString(subject: string, key: string): string {
  return `${subject} is empty; write a value, e.g. ${EXAMPLES[key] ?? `${key}: ...`}`;
}

function describeEmptyChoice(subject: string, key: string): string {
  const kinds = CODE_PROVIDER_KEYS.has(key) ? CODE_PROVIDER_KINDS : SECRET_SOURCE_KINDS;
  return `${subject} is empty; set one of ${joinOr(kinds)}, e.g. ${EXAMPLES[key] ?? `${key}: { env: NAME }`}`;
}

function describeSeveralChoices(subject: string, key: string, data: unknown): string {
  const kinds = CODE_PROVIDER_KEYS.has(key) ? CODE_PROVIDER_KINDS : SECRET_SOURCE_KINDS;
  const present = presentKeys(data, kinds);
  return `${subject} sets ${present.join(' and ')}, but only one of ${joinOr(kinds)} may be set; keep one of them`;
}

function isCodeProviderPath(segments: readonly string[]): boolean {
  return CODE_PROVIDER_KEYS.has(segments.at(-1) ?? '');
}

function suggestKey(error: ErrorObject): string | undefined {
  return suggestNearest(String(error.params['additionalProperty']), knownKeys(error));
}

/** Lists the keys the schema declares where an unknown key was found (verbose errors only). */
function knownKeys(error: ErrorObject): string[] {
  const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties === undefined ? [] : Object.keys(properties);
}

function presentKeys(data: unknown, keys: readonly string[]): string[] {
  if (typeof data !== 'object' || data === null) return [];
  return keys.filter((key) => key in data);
}

function dataAt(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
