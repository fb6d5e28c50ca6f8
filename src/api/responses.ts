/** Interpretation of responses: error bodies, excerpts of non-JSON bodies, and shape checks. */
import type { HttpResponse } from './http.js';
import { redact, scrubText } from './redact.js';
import type { ErrorBody } from './types.js';

/** Length of the excerpt quoted from a body that is not JSON, such as a proxy's HTML page. */
const EXCERPT_LENGTH = 160;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Returns a one-line excerpt of a body that is not JSON: HTML tags removed, whitespace
 * collapsed, cut to 160 characters, and known secrets replaced.
 */
export function excerptBody(text: string, knownSecrets: Iterable<string>): string {
  const plain = text
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const scrubbed = scrubText(plain, knownSecrets);
  return scrubbed.length <= EXCERPT_LENGTH ? scrubbed : `${scrubbed.slice(0, EXCERPT_LENGTH)}...`;
}

/**
 * Builds the redacted ErrorBody of a non-2xx response. A JSON body keeps its fields. Its
 * `error` falls back to `http_<status>`, and its `msg` to `detail` or `message`, which
 * other servers and proxies use. A body that is not JSON becomes `http_<status>` with an
 * excerpt, and a redirect names its target.
 */
export function errorBodyFrom(response: HttpResponse, knownSecrets: readonly string[]): ErrorBody {
  const fallbackCode = `http_${response.status}`;

  if (isPlainObject(response.json)) {
    const redacted = redact(response.json, knownSecrets) as Record<string, unknown>;
    const error = typeof redacted['error'] === 'string' && redacted['error'] !== '' ? redacted['error'] : fallbackCode;
    const msg = [redacted['msg'], redacted['detail'], redacted['message']].find((value) => typeof value === 'string');
    const body: ErrorBody = { ...redacted, error };
    if (typeof msg === 'string') {
      body.msg = msg;
    }
    return body;
  }

  const location = response.headers.get('location');
  if (response.status >= 300 && response.status < 400 && location !== null) {
    return { error: fallbackCode, msg: `redirected to ${scrubText(location, knownSecrets)}` };
  }

  const excerpt = excerptBody(response.text, knownSecrets);
  return excerpt === '' ? { error: fallbackCode } : { error: fallbackCode, msg: excerpt };
}

/** A check of a 2xx response body: returns what is wrong with it, or undefined when it fits. */
export type AnswerCheck = (body: Record<string, unknown>) => string | undefined;

/** Accepts any JSON object. */
export const anyObject: AnswerCheck = () => undefined;

/** Requires each named field to be a string. */
export function stringFields(...names: string[]): AnswerCheck {
  return (body) => {
    const missing = names.find((name) => typeof body[name] !== 'string');
    return missing === undefined ? undefined : `the field ${missing} is missing or not a string`;
  };
}

/** Requires `name` to be an array of strings, or absent when `optional` is set. */
export function stringArrayField(name: string, options: { optional?: boolean } = {}): AnswerCheck {
  return (body) => {
    const value = body[name];
    if (value === undefined && options.optional === true) {
      return undefined;
    }
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      return `the field ${name} is missing or not a list of strings`;
    }
    return undefined;
  };
}

/** Checks the fields of a status response that the planner depends on. */
export const statusShape: AnswerCheck = (body) => {
  if (typeof body['tfa_enabled'] !== 'boolean') {
    return 'the field tfa_enabled is missing or not a boolean';
  }
  if (typeof body['backup_codes_remaining'] !== 'number') {
    return 'the field backup_codes_remaining is missing or not a number';
  }

  const methods = body['methods'];
  if (!Array.isArray(methods)) {
    return 'the field methods is missing or not a list';
  }
  const badIndex = methods.findIndex((method) => !isPlainObject(method) || typeof method['id'] !== 'number' || typeof method['method'] !== 'string');
  if (badIndex >= 0) {
    return `methods[${badIndex}] has no numeric id or no method type`;
  }
  return undefined;
};
