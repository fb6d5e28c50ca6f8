import { createHash } from 'node:crypto';

import { TfaError } from '../errors.js';
import { systemClock, type Clock } from './clock.js';
import { normalizeSeed } from './seed.js';
import { generateTotp, TOTP_STEP_SECONDS } from './totp.js';

const STEP_MS = TOTP_STEP_SECONDS * 1000;

/**
 * Time added after a step boundary before a code for the new step is generated. A timer may
 * fire a millisecond early, and a small server clock skew that `offsetMs` does not capture
 * would otherwise put the code in the step the server already saw.
 */
const STEP_MARGIN_MS = 250;

/**
 * Maximum number of steps a recorded `lastStep` may lie ahead of the clock. Beyond it,
 * `next` fails instead of waiting, because the clock that recorded the step was wrong or
 * this one is.
 */
export const MAX_STEPS_AHEAD = 10;

export interface TotpCodeSourceOptions {
  /** Server time minus local time, in milliseconds, added to the clock on every call. */
  offsetMs?: () => number;
}

export interface TotpCode {
  code: string;
  /** The TOTP time step of the code. Callers store it as the method's `lastCodeStep`. */
  step: number;
  /** Time spent waiting for a new step, in milliseconds (0 when none was needed). */
  waitedMs: number;
}

/** Hands out codes so that no seed is used twice in one 30-second step, waiting for the next step when needed. */
export class TotpCodeSource {
  readonly #clock: Clock;
  readonly #offsetMs: () => number;
  /**
   * Last step handed out per seed. Keys are SHA-256 digests, so that this long-lived map
   * contains no seed.
   */
  readonly #lastSteps = new Map<string, number>();
  #waits = 0;

  constructor(clock: Clock = systemClock, options: TotpCodeSourceOptions = {}) {
    this.#clock = clock;
    this.#offsetMs = options.offsetMs ?? (() => 0);
  }

  /** How many times `next` had to wait for a new step. */
  get waits(): number {
    return this.#waits;
  }

  /**
   * Returns a code for the current step of `seed`, first waiting for the next step when this
   * source or `lastStep` (the step the seed last sent a code for, from the store) already
   * used the current one. The step is remembered before the code is generated, so concurrent
   * calls for one seed get different steps. Rejects with `signal.reason` when the signal
   * aborts, at once even while waiting.
   */
  async next(seed: string, options: { lastStep?: number; signal?: AbortSignal } = {}): Promise<TotpCode> {
    const { signal } = options;
    signal?.throwIfAborted();
    const normalized = normalizeSeed(seed);
    const key = createHash('sha256').update(normalized).digest('hex');
    let waitedMs = 0;

    for (;;) {
      const nowMs = this.#clock.nowMs() + this.#offsetMs();
      const step = Math.floor(nowMs / STEP_MS);
      const usedStep = Math.max(this.#lastSteps.get(key) ?? -1, options.lastStep ?? -1);

      if (step > usedStep) {
        this.#lastSteps.set(key, step);
        const code = await generateTotp(normalized, step * TOTP_STEP_SECONDS);
        return { code, step, waitedMs };
      }

      if (usedStep - step > MAX_STEPS_AHEAD) {
        throw new TfaError(
          'totp_step_ahead',
          `The last TOTP code of this seed was sent for step ${usedStep}, ${usedStep - step} steps after the current step ${step}.`,
          { hint: 'Check that this computer\'s clock is correct (NTP) and matches the clock of the host that sent the last code.' },
        );
      }

      // The wait targets the step after the used one, which may lie further ahead than the
      // next boundary when `lastStep` came from a clock that ran ahead of this one.
      const delayMs = (usedStep + 1) * STEP_MS - nowMs + STEP_MARGIN_MS;
      this.#waits += 1;
      const before = this.#clock.nowMs();
      await this.#clock.sleep(delayMs, signal);
      waitedMs += this.#clock.nowMs() - before;
    }
  }
}
