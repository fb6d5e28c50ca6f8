/**
 * Fault injection: an emulator middleware that responds with 503 and 429, adds latency, and drops
 * connections before the handler runs or after it committed, at the rates of a fault spec.
 * Every draw comes from one seeded generator, so the same seed and the same sequence of
 * requests give the same faults.
 */

import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { endpointOf, FAULT_KINDS, DEFAULT_429_RETRY_AFTER_SECONDS, type FaultEndpoint, type FaultKind, type FaultRule, type FaultSpec, type LatencyRule } from './faults-spec.js';
import { DropConnection, type Middleware, type Reply } from './server.js';

export * from './faults-spec.js';

/** How many requests the injector saw and how many faults of each kind it injected. */
export interface FaultCounts {
  /** Requests to `/api/v0/` endpoints. */
  requests: number;
  faults: Record<FaultKind, number>;
  /** Total latency added, in milliseconds. */
  latencyMs: number;
}

export interface FaultInjector {
  /** The seed in use: the spec's, or one picked at random when the spec has none. */
  readonly seed: number;
  readonly middleware: Middleware;
  counts(): FaultCounts;
}

/**
 * Returns a pseudo-random generator of numbers in [0, 1): xorshift32 with the shifts 13, 17
 * and 5. It is good enough to pick faults, and must never make secrets.
 */
export function seededRandom(seed: number): () => number {
  // xorshift never leaves 0, so the seed is mixed with a constant and 0 is avoided.
  let state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0) || 0x6d2b79f5;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/** Finds the rule of `kind` that applies to `endpoint`: the last one in the spec that names it. */
function ruleFor<T extends { endpoints?: readonly FaultEndpoint[] }>(rules: readonly T[], endpoint: FaultEndpoint): T | undefined {
  for (let index = rules.length - 1; index >= 0; index -= 1) {
    const rule = rules[index];
    if (rule !== undefined && (rule.endpoints === undefined || rule.endpoints.includes(endpoint))) return rule;
  }
  return undefined;
}

function faultReply(kind: '503' | '429', rule: FaultRule): Reply {
  const retryAfter = rule.retryAfterSeconds ?? (kind === '429' ? DEFAULT_429_RETRY_AFTER_SECONDS : undefined);
  const headers: Record<string, string> = retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) };
  const body =
    kind === '503'
      ? { error: 'service_unavailable', msg: 'The service is temporarily unavailable (injected fault); retry later.' }
      : { error: 'rate_limited', msg: 'Too many requests (injected fault); retry after the Retry-After delay.' };
  return { status: Number(kind), body, headers };
}

/**
 * Creates the injector for a spec. `onLog` receives one `fault_injected: ...` line per fault.
 * Paths outside `/api/v0/` (the emulator's own endpoints) are never faulted.
 */
export function createFaultInjector(spec: FaultSpec, onLog?: (line: string) => void): FaultInjector {
  const seed = spec.seed ?? randomInt(0, 0xffff_ffff);
  const random = seededRandom(seed);
  const counts: FaultCounts = { requests: 0, faults: { 'drop-before': 0, '503': 0, '429': 0, 'drop-after-commit': 0 }, latencyMs: 0 };
  const rulesByKind = new Map<FaultKind, FaultRule[]>(FAULT_KINDS.map((kind) => [kind, spec.rules.filter((rule) => rule.kind === kind)]));

  /** Draws once for `kind` when a rule applies, and returns the rule when the fault fires. */
  const draw = (kind: FaultKind, endpoint: FaultEndpoint): FaultRule | undefined => {
    const rule = ruleFor(rulesByKind.get(kind) ?? [], endpoint);
    if (rule === undefined || rule.rate === 0) return undefined;
    return random() < rule.rate ? rule : undefined;
  };
  const record = (kind: FaultKind, method: string, path: string): void => {
    counts.faults[kind] += 1;
    onLog?.(`fault_injected: kind=${kind} method=${method} path=${path}`);
  };

  const middleware: Middleware = async (request, route, next) => {
    const endpoint = endpointOf(route.method, route.path);
    if (endpoint === undefined) return next();
    counts.requests += 1;

    const latency: LatencyRule | undefined = ruleFor(spec.latency, endpoint);
    if (latency !== undefined) {
      const delayMs = latency.minMs + (latency.maxMs - latency.minMs) * random();
      counts.latencyMs += delayMs;
      await sleep(delayMs);
    }

    if (draw('drop-before', endpoint) !== undefined) {
      record('drop-before', request.method, request.path);
      throw new DropConnection('drop-before');
    }
    for (const kind of ['503', '429'] as const) {
      const rule = draw(kind, endpoint);
      if (rule !== undefined) {
        record(kind, request.method, request.path);
        return faultReply(kind, rule);
      }
    }

    const reply = await next();
    if (draw('drop-after-commit', endpoint) !== undefined) {
      record('drop-after-commit', request.method, request.path);
      throw new DropConnection('drop-after-commit');
    }
    return reply;
  };

  return {
    seed,
    middleware,
    counts: () => structuredClone(counts),
  };
}
