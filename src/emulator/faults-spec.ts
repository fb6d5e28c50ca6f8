/**
 * The fault specification of `tfa-gitops emulator --faults SPEC` and of tests: which faults
 * the emulator injects, at what rate, on which endpoints, and from which seed.
 *
 * A spec is a list of entries separated by `;`:
 *
 *     seed=42;503=0.1;429=5%:retry-after=1;latency=20ms;drop-after-commit=0.05@confirm-new,regen-backup-codes
 *
 * - `seed=N`: seed of the pseudo-random generator (0 to 4294967295), so a run can be replayed.
 * - `503=RATE`, `429=RATE`: respond with that status before the handler runs. `:retry-after=S`
 *   adds a `Retry-After` header of S seconds; a 429 sends `Retry-After: 1` unless told otherwise.
 * - `drop-before=RATE`: close the connection without running the handler.
 * - `drop-after-commit=RATE`: run the handler, so its change is kept, then close the
 *   connection without answering.
 * - `latency=DURATION` or `latency=MIN-MAX`: delay each request, e.g. `20ms`, `1s`, `10-50ms`.
 *
 * RATE is a probability from 0 to 1 (`0.05`) or a percentage (`5%`). `@NAME,NAME` limits an
 * entry to those endpoints (see FAULT_ENDPOINTS); without it the entry applies to every
 * `/api/v0/` endpoint. A later entry of the same kind replaces an earlier one on the endpoints
 * it names, so `503=0.1;503=0.5@confirm-new` fails confirm-new more often than the rest.
 */

import { TfaError } from '../errors.js';
import { editDistance } from '../manifest/suggest.js';

/** Short names of the API's endpoints, as a spec names them after `@`. */
export const FAULT_ENDPOINTS = {
  status: 'GET /api/v0/tfa/status/',
  authorize: 'POST /api/v0/tfa/authorize-new-method/',
  'authorize-complete': 'PUT /api/v0/tfa/authorize-new-method/',
  'totp-setup': 'POST /api/v0/tfa/totp-setup/',
  sms: 'POST /api/v0/tfa/sms/',
  'sms-resend': 'POST /api/v0/tfa/sms/resend/',
  email: 'POST /api/v0/tfa/email/',
  'confirm-new': 'POST /api/v0/tfa/confirm-new/',
  update: 'PUT /api/v0/tfa/update/',
  login: 'POST /api/v0/tfa/',
  delete: 'DELETE /api/v0/tfa/',
  'regen-backup-codes': 'PUT /api/v0/tfa/regen-backup-codes/',
} as const;

export type FaultEndpoint = keyof typeof FAULT_ENDPOINTS;

/** Faults that end a request, in the order the injector draws them. */
export type FaultKind = 'drop-before' | '503' | '429' | 'drop-after-commit';

export const FAULT_KINDS: readonly FaultKind[] = ['drop-before', '503', '429', 'drop-after-commit'];

export interface FaultRule {
  kind: FaultKind;
  /** Probability from 0 to 1. */
  rate: number;
  /** `Retry-After` in seconds, for 429 and 503 only. */
  retryAfterSeconds?: number;
  /** The endpoints the rule applies to; undefined means every endpoint. */
  endpoints?: readonly FaultEndpoint[];
}

export interface LatencyRule {
  minMs: number;
  maxMs: number;
  endpoints?: readonly FaultEndpoint[];
}

export interface FaultSpec {
  /** Undefined when the spec names no seed: the injector then picks one and reports it. */
  seed?: number;
  rules: FaultRule[];
  latency: LatencyRule[];
}

/** A `--faults` spec that cannot be parsed; the message names the entry and the fix. */
export class FaultSpecError extends TfaError {
  constructor(message: string, hint = 'see "tfa-gitops emulator --help" for the --faults syntax') {
    super('invalid_faults', message, { hint });
  }
}

/** Retry-After of an injected 429 when the spec gives none, in seconds. */
export const DEFAULT_429_RETRY_AFTER_SECONDS = 1;

const MAX_SEED = 0xffff_ffff;
/** Maximum latency a spec may set, because a request that waits longer looks hung. */
const MAX_LATENCY_MS = 60_000;

/** Parses a fault spec; throws FaultSpecError naming the first invalid entry. */
export function parseFaultSpec(text: string): FaultSpec {
  const spec: FaultSpec = { rules: [], latency: [] };
  const entries = text.split(';').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw new FaultSpecError('the fault spec is empty', 'pass entries such as "seed=42;503=0.1"');

  for (const entry of entries) parseEntry(entry, spec);
  return spec;
}

function parseEntry(entry: string, spec: FaultSpec): void {
  const at = entry.lastIndexOf('@');
  const body = at === -1 ? entry : entry.slice(0, at);
  const endpoints = at === -1 ? undefined : parseEndpoints(entry.slice(at + 1), entry);
  const [head = '', ...paramTexts] = body.split(':');
  const equals = head.indexOf('=');
  if (equals <= 0) throw new FaultSpecError(`invalid fault entry "${entry}": expected NAME=VALUE, e.g. "503=0.1"`);
  const name = head.slice(0, equals).trim();
  const value = head.slice(equals + 1).trim();
  const params = parseParams(paramTexts, entry);

  if (name === 'seed') {
    if (endpoints !== undefined || params.size > 0) throw new FaultSpecError(`invalid fault entry "${entry}": seed takes no endpoints or parameters`);
    spec.seed = parseSeed(value, entry);
    return;
  }
  if (name === 'latency') {
    if (params.size > 0) throw new FaultSpecError(`invalid fault entry "${entry}": latency takes no parameters`);
    spec.latency.push({ ...parseLatency(value, entry), ...(endpoints ? { endpoints } : {}) });
    return;
  }
  if (!isFaultKind(name)) {
    const known = ['seed', 'latency', ...FAULT_KINDS];
    const near = known.find((candidate) => editDistance(candidate, name) <= 2);
    throw new FaultSpecError(
      `unknown fault "${name}" in "${entry}"${near === undefined ? '' : `; did you mean "${near}"?`}`,
      `use one of: ${known.join(', ')}`,
    );
  }

  const rule: FaultRule = { kind: name, rate: parseRate(value, entry), ...(endpoints ? { endpoints } : {}) };
  const retryAfter = params.get('retry-after');
  params.delete('retry-after');
  if (retryAfter !== undefined) {
    if (name !== '429' && name !== '503') throw new FaultSpecError(`invalid fault entry "${entry}": retry-after applies to 429 and 503 only`);
    rule.retryAfterSeconds = parseRetryAfterSeconds(retryAfter, entry);
  }
  const [unknownParam] = params.keys();
  if (unknownParam !== undefined) throw new FaultSpecError(`unknown parameter "${unknownParam}" in "${entry}"`, 'the only parameter is retry-after=SECONDS, on 429 and 503');
  spec.rules.push(rule);
}

function isFaultKind(name: string): name is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(name);
}

function parseParams(texts: string[], entry: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const text of texts) {
    const equals = text.indexOf('=');
    if (equals <= 0) throw new FaultSpecError(`invalid parameter "${text}" in "${entry}": expected NAME=VALUE, e.g. "retry-after=1"`);
    params.set(text.slice(0, equals).trim(), text.slice(equals + 1).trim());
  }
  return params;
}

function parseEndpoints(text: string, entry: string): FaultEndpoint[] {
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) throw new FaultSpecError(`invalid endpoint list after "@" in "${entry}"`, `name endpoints separated by commas: ${Object.keys(FAULT_ENDPOINTS).join(', ')}`);

  return names.map((name) => {
    if (name in FAULT_ENDPOINTS) return name as FaultEndpoint;
    const near = Object.keys(FAULT_ENDPOINTS).find((candidate) => editDistance(candidate, name) <= 2);
    throw new FaultSpecError(
      `unknown endpoint "${name}" in "${entry}"${near === undefined ? '' : `; did you mean "${near}"?`}`,
      `use one of: ${Object.keys(FAULT_ENDPOINTS).join(', ')}`,
    );
  });
}

function parseSeed(value: string, entry: string): number {
  const seed = Number(value);
  if (!/^\d+$/.test(value) || seed > MAX_SEED) throw new FaultSpecError(`invalid seed "${value}" in "${entry}": expected a whole number from 0 to ${MAX_SEED}`);
  return seed;
}

function parseRate(value: string, entry: string): number {
  const percent = value.endsWith('%');
  const number = Number(percent ? value.slice(0, -1) : value);
  const rate = percent ? number / 100 : number;
  if (value === '' || value === '%' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new FaultSpecError(`invalid rate "${value}" in "${entry}": expected a probability from 0 to 1 (0.05) or a percentage (5%)`);
  }
  return rate;
}

function parseRetryAfterSeconds(value: string, entry: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds > 3600) throw new FaultSpecError(`invalid retry-after "${value}" in "${entry}": expected whole seconds from 0 to 3600`);
  return seconds;
}

function parseLatency(value: string, entry: string): { minMs: number; maxMs: number } {
  const match = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(ms|s)$/.exec(value);
  if (match === null) throw new FaultSpecError(`invalid latency "${value}" in "${entry}": expected a duration such as 20ms, 1s or 10-50ms`);

  const unitMs = match[3] === 's' ? 1000 : 1;
  const minMs = Number(match[1]) * unitMs;
  const maxMs = match[2] === undefined ? minMs : Number(match[2]) * unitMs;
  if (maxMs < minMs) throw new FaultSpecError(`invalid latency "${value}" in "${entry}": the range must run from low to high`);
  if (maxMs > MAX_LATENCY_MS) throw new FaultSpecError(`invalid latency "${value}" in "${entry}": at most ${MAX_LATENCY_MS / 1000}s`);
  return { minMs, maxMs };
}

/** Formats a spec in the syntax `parseFaultSpec` reads, seed first, for logs and replays. */
export function formatFaultSpec(spec: FaultSpec): string {
  const entries: string[] = [];
  if (spec.seed !== undefined) entries.push(`seed=${spec.seed}`);
  for (const rule of spec.latency) {
    const range = rule.minMs === rule.maxMs ? `${rule.minMs}ms` : `${rule.minMs}-${rule.maxMs}ms`;
    entries.push(`latency=${range}${formatEndpoints(rule.endpoints)}`);
  }
  for (const rule of spec.rules) {
    const retryAfter = rule.retryAfterSeconds === undefined ? '' : `:retry-after=${rule.retryAfterSeconds}`;
    entries.push(`${rule.kind}=${rule.rate}${retryAfter}${formatEndpoints(rule.endpoints)}`);
  }
  return entries.join(';');
}

function formatEndpoints(endpoints: readonly FaultEndpoint[] | undefined): string {
  return endpoints === undefined ? '' : `@${endpoints.join(',')}`;
}

/** Returns the short name of an API route, or undefined for a path outside the API. */
export function endpointOf(method: string, path: string): FaultEndpoint | undefined {
  const call = `${method} ${path}`;
  const found = Object.entries(FAULT_ENDPOINTS).find(([, value]) => value === call);
  return found === undefined ? undefined : (found[0] as FaultEndpoint);
}
