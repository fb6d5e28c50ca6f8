/**
 * Strict readers for fields of a JSON request body. Each rejects a present field of the
 * wrong type or size with `bad_request` naming the field; an absent field reads as
 * undefined. A JSON null counts as a wrong type except where a reader says otherwise.
 */

import type { MethodType } from '../api/types.js';
import { badRequest } from './errors.js';
import { MAX_LABEL_LENGTH } from './limits.js';

export type RequestBody = Readonly<Record<string, unknown>>;

/** Maximum string length for a field without a tighter limit (tokens, codes, seeds). */
const MAX_FIELD_LENGTH = 256;

const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;

export function readString(body: RequestBody, field: string, maxLength = MAX_FIELD_LENGTH): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  if (value.length === 0) throw badRequest(`${field} must not be empty`);
  if (value.length > maxLength) throw badRequest(`${field} must be at most ${maxLength} characters`);
  return value;
}

/** Reads a positive integer id such as `tfa_method_id` or `target_id`. */
export function readId(body: RequestBody, field: string): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw badRequest(`${field} must be a positive integer`);
  }
  return value;
}

export function readBoolean(body: RequestBody, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${field} must be true or false`);
  return value;
}

/** Reads a field whose value must be one of `allowed`. */
export function readEnum<T extends string>(body: RequestBody, field: string, allowed: readonly T[]): T | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw badRequest(`${field} must be one of ${allowed.map((item) => `"${item}"`).join(', ')}`);
  }
  return value as T;
}

/** Reads `tfa_method` where it names a stored method type. */
export function readMethodType(body: RequestBody): MethodType | undefined {
  return readEnum(body, 'tfa_method', ['totp', 'sms'] as const);
}

/**
 * Reads a method label: 1 to 30 characters, counted as Unicode code points. A JSON null
 * is allowed and means "no label".
 */
export function readLabel(body: RequestBody): string | null | undefined {
  const value = body['label'];
  if (value === null) return null;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest('label must be a string or null');

  const length = [...value].length;
  if (length === 0) throw badRequest('label must not be empty; send null for no label');
  if (length > MAX_LABEL_LENGTH) throw badRequest(`label must be at most ${MAX_LABEL_LENGTH} characters, got ${length}`);
  return value;
}

/** Reads a phone number in E.164 form, such as "+12125551234". */
export function readPhoneNumber(body: RequestBody): string | undefined {
  const value = readString(body, 'phone_number', 16);
  if (value === undefined) return undefined;
  if (!E164_PATTERN.test(value)) throw badRequest('phone_number must be in E.164 form, such as "+12125551234"');
  return value;
}
