/**
 * The clock check that runs before any TOTP code is sent. A code is made from the local
 * clock, and the server accepts the current 30-second step and one step either side. A clock
 * more than one step off therefore makes codes that the server may reject, and each rejected
 * code counts towards the method's lockout.
 */

import { TfaError } from '../errors.js';
import { TOTP_STEP_SECONDS } from '../totp/totp.js';

/** Offset beyond which the executor warns, in milliseconds. */
export const SKEW_WARN_MS = 15_000;
/** Offset beyond which the executor sends no TOTP code: one TOTP step, in milliseconds. */
export const SKEW_MAX_MS = TOTP_STEP_SECONDS * 1000;

export class ClockSkewError extends TfaError {
  readonly offsetMs: number;

  constructor(message: string, offsetMs: number) {
    super('clock_skew', message, {
      hint: "fix this computer's clock, e.g. turn on NTP with \"timedatectl set-ntp true\", then run apply again",
    });
    this.offsetMs = offsetMs;
  }
}

export interface SkewCheck {
  /** Server time minus local time in milliseconds; undefined when the server sent no `Date` header. */
  offsetMs: number | undefined;
  /** A warning to report, when the offset is beyond SKEW_WARN_MS or could not be measured. */
  warning?: string;
}

/** Describes an offset as "45 s behind" or "12 s ahead of" the server. */
export function describeOffset(offsetMs: number): string {
  const seconds = Math.round(Math.abs(offsetMs) / 1000);
  return offsetMs > 0 ? `${seconds} s behind` : `${seconds} s ahead of`;
}

/**
 * Compares the local clock with the server's, from `offsetMs` (server `Date` header minus
 * local time, as VastClient.clockOffsetMs measures it). Throws ClockSkewError beyond one
 * TOTP step, and returns a warning beyond SKEW_WARN_MS.
 * NOTE: the `Date` header has whole seconds, so the offset is known to about one second.
 */
export function checkClockSkew(offsetMs: number | undefined, serverUrl: string): SkewCheck {
  if (offsetMs === undefined) {
    return { offsetMs, warning: `cannot check this computer's clock: ${serverUrl} sent no Date header` };
  }

  const size = Math.abs(offsetMs);
  if (size > SKEW_MAX_MS) {
    throw new ClockSkewError(
      `this computer's clock is ${describeOffset(offsetMs)} the clock of ${serverUrl}, more than one ${TOTP_STEP_SECONDS} s TOTP step, ` +
        'so the server would reject its TOTP codes; no code was sent',
      offsetMs,
    );
  }
  if (size > SKEW_WARN_MS) {
    return {
      offsetMs,
      warning: `this computer's clock is ${describeOffset(offsetMs)} the clock of ${serverUrl}; TOTP codes still work up to ${SKEW_MAX_MS / 1000} s, so fix the clock (NTP)`,
    };
  }
  return { offsetMs };
}
