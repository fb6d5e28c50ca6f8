/**
 * Preloaded into a CLI child process with `node --import` to move its clock forward by
 * TFA_TEST_CLOCK_OFFSET_MS milliseconds. A crash test sets the emulator's clock offset to the
 * same value, so that a rerun can start in a later TOTP step, or after a left lock expired,
 * without waiting in real time. Timers are not affected.
 */

const offsetMs = Number(process.env['TFA_TEST_CLOCK_OFFSET_MS'] ?? '0');

if (Number.isFinite(offsetMs) && offsetMs !== 0) {
  const RealDate = Date;

  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) {
        super(RealDate.now() + offsetMs);
      } else {
        // Dates built from a value keep that value: only "now" moves.
        super(...(args as [string]));
      }
    }

    static override now(): number {
      return RealDate.now() + offsetMs;
    }
  }

  globalThis.Date = ShiftedDate as DateConstructor;
}

export {};
